package api

import "github.com/labstack/echo/v4"

// Routes exposes the router's table to the tests.
func (s *Server) Routes() []*echo.Route { return s.e.Routes() }
