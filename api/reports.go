package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/reports"
)

// reportRange reads ?from=&to=&tz= and checks ?format= (json or csv).
func (s *Server) reportRange(c echo.Context) (reports.Range, bool, error) {
	csvOut := false
	switch c.QueryParam("format") {
	case "", "json":
	case "csv":
		csvOut = true
	default:
		return reports.Range{}, false, kefu.Invalid(map[string]string{"format": "must be json or csv"})
	}
	r, err := reports.ParseRange(c.QueryParam("from"), c.QueryParam("to"), c.QueryParam("tz"), time.Now())
	return r, csvOut, err
}

func (s *Server) reportOverview(c echo.Context) error {
	r, csvOut, err := s.reportRange(c)
	if err != nil {
		return err
	}
	o, err := s.reports.Overview(c.Request().Context(), tenantOf(c), r)
	if err != nil {
		return err
	}
	if !csvOut {
		return c.JSON(http.StatusOK, o)
	}
	rows := [][]string{{"date", "conversations", "resolved"}}
	for _, d := range o.PerDay {
		rows = append(rows, []string{d.Date, strconv.Itoa(d.Conversations), strconv.Itoa(d.Resolved)})
	}
	return writeCSV(c, "overview", r, rows)
}

func (s *Server) reportAgents(c echo.Context) error { return s.reportGroups(c, "agents") }
func (s *Server) reportTeams(c echo.Context) error  { return s.reportGroups(c, "teams") }

func (s *Server) reportGroups(c echo.Context, kind string) error {
	r, csvOut, err := s.reportRange(c)
	if err != nil {
		return err
	}
	get := s.reports.Agents
	if kind == "teams" {
		get = s.reports.Teams
	}
	groups, err := get(c.Request().Context(), tenantOf(c), r)
	if err != nil {
		return err
	}
	if !csvOut {
		return c.JSON(http.StatusOK, map[string]any{kind: groups, "from": r.From.Format("2006-01-02"), "to": r.To.Format("2006-01-02"), "tz": r.Loc.String()})
	}
	rows := [][]string{{"id", "name", "conversations", "resolved", "first_response_median_seconds", "first_response_p90_seconds",
		"resolution_median_seconds", "resolution_p90_seconds", "csat_average", "csat_count"}}
	for _, g := range groups {
		row := []string{g.ID, g.Name, strconv.Itoa(g.Conversations), strconv.Itoa(g.Resolved),
			num(g.FirstResponse.Median), num(g.FirstResponse.P90), num(g.Resolution.Median), num(g.Resolution.P90), "", ""}
		if g.CSAT != nil {
			row[8], row[9] = num(g.CSAT.Average), strconv.Itoa(g.CSAT.Count)
		}
		rows = append(rows, row)
	}
	return writeCSV(c, kind, r, rows)
}

func (s *Server) reportHeatmap(c echo.Context) error {
	r, csvOut, err := s.reportRange(c)
	if err != nil {
		return err
	}
	h, err := s.reports.Heatmap(c.Request().Context(), tenantOf(c), r)
	if err != nil {
		return err
	}
	if !csvOut {
		return c.JSON(http.StatusOK, map[string]any{"cells": h.Cells, "max": h.Max, "from": r.From.Format("2006-01-02"), "to": r.To.Format("2006-01-02"), "tz": r.Loc.String()})
	}
	rows := [][]string{{"weekday", "hour", "conversations"}}
	for wd, hours := range h.Cells {
		for hr, n := range hours {
			rows = append(rows, []string{strconv.Itoa(wd), strconv.Itoa(hr), strconv.Itoa(n)})
		}
	}
	return writeCSV(c, "heatmap", r, rows)
}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// writeCSV answers rows as a CSV download. A cell that a spreadsheet would
// run as a formula (=, +, -, @ first) is prefixed with a quote.
func writeCSV(c echo.Context, name string, r reports.Range, rows [][]string) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="kefu-%s-%s-%s.csv"`, name, r.From.Format("20060102"), r.To.Format("20060102")))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	for _, row := range rows {
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				if _, err := strconv.ParseFloat(cell, 64); err != nil {
					row[i] = "'" + cell
				}
			}
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
