package api

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/bots"
	"kefu/tenants"
)

func (s *Server) botsSvc() (*bots.Service, error) {
	if s.cfg.Bots == nil {
		return nil, kefu.Errorf(kefu.EUnavailable, "bots are not enabled on this server")
	}
	return s.cfg.Bots, nil
}

func (s *Server) mountBots(a *echo.Group) {
	read, write := s.can(tenants.ObjKnowledge, tenants.ActRead), s.can(tenants.ObjKnowledge, tenants.ActWrite)
	a.GET("/faqs", s.listFAQs, read)
	a.POST("/faqs", s.createFAQ, write)
	a.GET("/faqs/export", s.exportFAQs, read)
	a.POST("/faqs/import", s.importFAQs, write)
	a.POST("/faqs/match", s.matchFAQ, read)
	a.GET("/faqs/:id", s.getFAQ, read)
	a.PUT("/faqs/:id", s.updateFAQ, write)
	a.DELETE("/faqs/:id", s.deleteFAQ, write)
	a.GET("/articles", s.listArticles, read)
	a.POST("/articles", s.createArticle, write)
	a.GET("/articles/:id", s.getArticle, read)
	a.PUT("/articles/:id", s.updateArticle, write)
	a.DELETE("/articles/:id", s.deleteArticle, write)
	a.GET("/bots/llm", s.getLLM, s.can(tenants.ObjBots, tenants.ActRead))
	a.PUT("/bots/llm", s.putLLM, s.can(tenants.ObjBots, tenants.ActWrite))
	a.POST("/bots/llm/test", s.testLLM, s.can(tenants.ObjBots, tenants.ActWrite))
	a.GET("/bots/settings", s.getBotSettings, s.can(tenants.ObjBots, tenants.ActRead))
	a.PUT("/bots/settings", s.putBotSettings, s.can(tenants.ObjBots, tenants.ActWrite))
	a.GET("/bots/usage", s.botUsage, s.can(tenants.ObjBots, tenants.ActRead))
}

func (s *Server) listFAQs(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 100)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0)
	if err != nil {
		return err
	}
	list, total, err := b.FAQs(c.Request().Context(), tenantOf(c), bots.FAQFilter{Query: c.QueryParam("q"), Limit: int(limit), Offset: int(offset)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"faqs": list, "total": total})
}

func (s *Server) createFAQ(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	var in bots.EntryInput
	if err := bind(c, &in); err != nil {
		return err
	}
	e, err := b.CreateFAQ(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, e)
}

func (s *Server) getFAQ(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	e, err := b.FAQ(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) updateFAQ(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	var in bots.EntryInput
	if err := bind(c, &in); err != nil {
		return err
	}
	e, err := b.UpdateFAQ(c.Request().Context(), tenantOf(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) deleteFAQ(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	if err := b.DeleteFAQ(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// importFormat is the query's format, else the body's content type (415
// for a type that is neither CSV nor JSON).
func importFormat(c echo.Context) (string, error) {
	if f := c.QueryParam("format"); f != "" {
		return f, nil
	}
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	switch mt {
	case "text/csv", "application/csv":
		return bots.FormatCSV, nil
	case "application/json", "":
		return bots.FormatJSON, nil
	}
	return "", echo.NewHTTPError(http.StatusUnsupportedMediaType, "the body must be CSV (text/csv) or JSON (application/json)")
}

func (s *Server) importFAQs(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	mode := c.QueryParam("mode")
	if mode != "" && mode != "append" && mode != "replace" {
		return kefu.Invalid(map[string]string{"mode": "must be append or replace"})
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return kefu.Errorf(kefu.ETooLarge, "request body is too large")
	}
	format, err := importFormat(c)
	if err != nil {
		return err
	}
	rows, err := bots.ParseImport(format, body)
	if err != nil {
		return err
	}
	n, err := b.ImportFAQs(c.Request().Context(), tenantOf(c), rows, mode == "replace")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"imported": n, "mode": map[bool]string{true: "replace", false: "append"}[mode == "replace"]})
}

func (s *Server) exportFAQs(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format == "" {
		format = bots.FormatJSON
	}
	if format != bots.FormatCSV && format != bots.FormatJSON {
		return kefu.Invalid(map[string]string{"format": "must be csv or json"})
	}
	list, err := b.AllFAQs(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	name := "faq-" + time.Now().UTC().Format("20060102") + "." + format
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if format == bots.FormatJSON {
		return c.JSON(http.StatusOK, list)
	}
	var buf bytes.Buffer
	if err := bots.ExportCSV(&buf, list); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

type matchRequest struct {
	Text  string `json:"text"`
	Limit int    `json:"limit"`
}

func (s *Server) matchFAQ(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	var req matchRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Text) == "" || len(req.Text) > 4000 {
		return kefu.Invalid(map[string]string{"text": "must be 1-4000 bytes"})
	}
	if req.Limit < 0 || req.Limit > 10 {
		return kefu.Invalid(map[string]string{"limit": "must be 1-10"})
	}
	res, err := b.MatchFAQ(c.Request().Context(), tenantOf(c), req.Text, req.Limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) listArticles(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	list, err := b.Articles(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"articles": list})
}

func (s *Server) createArticle(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	var in bots.ArticleInput
	if err := bind(c, &in); err != nil {
		return err
	}
	a, err := b.CreateArticle(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

func (s *Server) getArticle(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	a, err := b.Article(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) updateArticle(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	var in bots.ArticleInput
	if err := bind(c, &in); err != nil {
		return err
	}
	a, err := b.UpdateArticle(c.Request().Context(), tenantOf(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) deleteArticle(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	if err := b.DeleteArticle(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) getLLM(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	st, err := b.Settings(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st.LLM)
}

func (s *Server) putLLM(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	var in bots.LLMInput
	if err := bind(c, &in); err != nil {
		return err
	}
	st, err := b.SetLLM(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// testLLM tries the stored model, or the settings in the body (whose
// api_key, when left out, is the stored one).
func (s *Server) testLLM(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	var in *bots.LLMInput
	if c.Request().ContentLength != 0 {
		in = &bots.LLMInput{}
		if err := bind(c, in); err != nil {
			return err
		}
		if in.Provider == "" && in.Model == "" {
			in = nil // {}: the stored settings
		}
	}
	res, err := b.TestLLM(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) getBotSettings(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	st, err := b.Settings(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st.Bot())
}

func (s *Server) putBotSettings(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	var in bots.BotSettings
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := b.SetBot(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) botUsage(c echo.Context) error {
	b, err := s.botsSvc()
	if err != nil {
		return err
	}
	days, err := queryInt(c, "days", 30)
	if err != nil {
		return err
	}
	if days < 1 || days > 366 {
		return kefu.Invalid(map[string]string{"days": "must be 1-366"})
	}
	since := time.Now().UTC().Add(-time.Duration(days) * 24 * time.Hour)
	u, err := b.Usage(c.Request().Context(), tenantOf(c), c.QueryParam("conversation_id"), since)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"days": days, "conversation_id": c.QueryParam("conversation_id"), "usage": u})
}

func (s *Server) suggest(c echo.Context) error {
	sug, err := s.chat.Suggest(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sug)
}
