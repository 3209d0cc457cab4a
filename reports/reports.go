// Package reports computes a tenant's support reports — conversations per
// day, first-response and resolution times (median and p90), CSAT, the
// busiest hours, per agent and per team, and how many conversations the
// bots resolved alone — by SQL over the tenant's tables, on PostgreSQL and
// SQLite alike. Times are grouped in the caller's time zone: SQL counts
// conversations per UTC quarter hour (every real UTC offset is a whole
// number of quarter hours), and Go files each quarter under its local day
// and hour, so daylight-saving changes land where they should.
package reports

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"kefu"
	"kefu/tenants"
)

// MaxDays bounds the range of one report.
const MaxDays = 366

// Range is a report's period: the local days From to To (inclusive) in Loc.
type Range struct {
	From, To time.Time // local midnights
	Loc      *time.Location
}

// start and end are the range's bounds in UTC: [start, end).
func (r Range) start() time.Time { return r.From.UTC() }
func (r Range) end() time.Time   { return r.To.AddDate(0, 0, 1).UTC() }

// ParseRange reads from and to (YYYY-MM-DD, inclusive) and tz (an IANA
// name, default UTC); missing dates give the last 7 days up to today.
// Errors: invalid_argument naming the fields.
func ParseRange(from, to, tz string, now time.Time) (Range, error) {
	fields := map[string]string{}
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || len(tz) > 64 || strings.Contains(tz, "..") {
			fields["tz"] = "must be an IANA time zone such as Asia/Shanghai"
		} else {
			loc = l
		}
	}
	day := func(name, v string, def time.Time) time.Time {
		if v == "" {
			return def
		}
		d, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			fields[name] = "must be a date as YYYY-MM-DD"
		}
		return d
	}
	today := now.In(loc)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	r := Range{Loc: loc}
	r.To = day("to", to, today)
	r.From = day("from", from, r.To.AddDate(0, 0, -6))
	if len(fields) == 0 {
		switch {
		case r.To.Before(r.From):
			fields["to"] = "must not be before from"
		case r.To.Sub(r.From) > MaxDays*24*time.Hour:
			fields["to"] = fmt.Sprintf("the range is at most %d days", MaxDays)
		}
	}
	if len(fields) > 0 {
		return Range{}, kefu.Invalid(fields)
	}
	return r, nil
}

// Durations summarises how long something took, in seconds.
type Durations struct {
	Count  int      `json:"count"`
	Median *float64 `json:"median_seconds"`
	P90    *float64 `json:"p90_seconds"`
}

// CSAT summarises the ratings visitors gave.
type CSAT struct {
	Count   int      `json:"count"`
	Average *float64 `json:"average"`
	// Distribution[i] is how many rated i+1.
	Distribution [5]int `json:"distribution"`
}

// Day is one local day's counts.
type Day struct {
	Date          string `json:"date"`
	Conversations int    `json:"conversations"`
	Resolved      int    `json:"resolved"`
}

// Deflection: resolved conversations in which no person wrote and a bot
// (FAQ or model) answered.
type Deflection struct {
	Resolved  int      `json:"resolved"`
	Deflected int      `json:"deflected"`
	Rate      *float64 `json:"rate"`
}

// Overview is the whole tenant's report.
type Overview struct {
	From          string     `json:"from"`
	To            string     `json:"to"`
	TZ            string     `json:"tz"`
	Conversations int        `json:"conversations"`
	Resolved      int        `json:"resolved"`
	PerDay        []Day      `json:"per_day"`
	FirstResponse Durations  `json:"first_response"`
	Resolution    Durations  `json:"resolution"`
	CSAT          *CSAT      `json:"csat"` // nil when the workspace has no ratings column yet
	Deflection    Deflection `json:"bot_deflection"`
}

// Group is one agent's or team's line.
type Group struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Conversations int       `json:"conversations"`
	Resolved      int       `json:"resolved"`
	FirstResponse Durations `json:"first_response"`
	Resolution    Durations `json:"resolution"`
	CSAT          *CSAT     `json:"csat"`
}

// Heatmap counts conversations opened per local weekday (0 = Sunday) and hour.
type Heatmap struct {
	Cells [7][24]int `json:"cells"`
	Max   int        `json:"max"`
}

// Service computes reports.
type Service struct{ tenants *tenants.Service }

// New returns the reports service.
func New(t *tenants.Service) *Service { return &Service{tenants: t} }

type query struct {
	db *tenants.DB
	r  Range
}

func (s *Service) query(tenantID string, r Range) (query, error) {
	db, err := s.tenants.DB(tenantID)
	return query{db: db, r: r}, err
}

func (q query) pg() bool             { return q.db.Dialect == tenants.Postgres }
func (q query) t(name string) string { return q.db.Table(name) }

// seconds is the SQL for b - a in seconds.
func (q query) seconds(b, a string) string {
	if q.pg() {
		return "EXTRACT(EPOCH FROM (" + b + " - " + a + "))"
	}
	return "((julianday(" + b + ") - julianday(" + a + ")) * 86400.0)"
}

// quarter is the SQL for the UTC quarter hour a timestamp falls in.
func (q query) quarter(col string) string {
	if q.pg() {
		return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + ") / 900) AS bigint)"
	}
	return "(CAST(strftime('%s', " + col + ") AS INTEGER) / 900)"
}

// quarters counts rows per UTC quarter hour of col (in [start, end)).
func (q query) quarters(ctx context.Context, col, extra string) (map[int64]int, error) {
	sql := "SELECT " + q.quarter(col) + " AS qh, COUNT(*) AS n FROM " + q.t("conversations") +
		" WHERE " + col + " >= ? AND " + col + " < ?" + extra + " GROUP BY qh"
	var rows []struct {
		Qh int64
		N  int
	}
	if err := q.db.WithContext(ctx).Raw(sql, q.r.start(), q.r.end()).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.Qh] += r.N
	}
	return out, nil
}

func (q query) local(qh int64) time.Time { return time.Unix(qh*900, 0).In(q.r.Loc) }

// durations computes count, median and p90 of the seconds that inner
// yields per group (columns grp, secs): PostgreSQL's percentile_cont, and
// on SQLite the same interpolation from the two ranked rows around each
// percentile (a window query: memory stays bounded whatever the count).
func (q query) durations(ctx context.Context, inner string, args ...any) (map[string]Durations, error) {
	out := map[string]Durations{}
	if q.pg() {
		var rows []struct {
			Grp      string
			N        int
			Med, P90 float64
		}
		sql := "SELECT grp, COUNT(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS med, percentile_cont(0.9) WITHIN GROUP (ORDER BY secs) AS p90 FROM (" +
			inner + ") x GROUP BY grp"
		if err := q.db.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			med, p90 := round(r.Med), round(r.P90)
			out[r.Grp] = Durations{Count: r.N, Median: &med, P90: &p90}
		}
		return out, nil
	}
	var rows []struct {
		Grp  string
		N    int
		Rn   int
		Secs float64
	}
	pick := func(p string) string {
		return "rn = CAST(" + p + " * (n - 1) AS INTEGER) + 1 OR rn = CAST(" + p + " * (n - 1) AS INTEGER) + 2"
	}
	sql := "SELECT grp, n, rn, secs FROM (SELECT grp, secs, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY secs) AS rn, COUNT(*) OVER (PARTITION BY grp) AS n FROM (" +
		inner + ") x) y WHERE " + pick("0.5") + " OR " + pick("0.9")
	if err := q.db.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	ranked := map[string]map[int]float64{}
	counts := map[string]int{}
	for _, r := range rows {
		if ranked[r.Grp] == nil {
			ranked[r.Grp] = map[int]float64{}
		}
		ranked[r.Grp][r.Rn] = r.Secs
		counts[r.Grp] = r.N
	}
	for g, xs := range ranked {
		n := counts[g]
		med, p90 := round(interpolate(xs, n, 0.5)), round(interpolate(xs, n, 0.9))
		out[g] = Durations{Count: n, Median: &med, P90: &p90}
	}
	return out, nil
}

// interpolate is percentile_cont over the 1-based ranked values xs of n.
func interpolate(xs map[int]float64, n int, p float64) float64 {
	pos := p * float64(n-1)
	lo := int(math.Floor(pos))
	v := xs[lo+1]
	if hi, ok := xs[lo+2]; ok {
		v += (pos - float64(lo)) * (hi - v)
	}
	return v
}

func round(v float64) float64 { return math.Round(v*10) / 10 }

// firstResponse: from a conversation's opening to the first public message
// a person wrote in it, for conversations opened in the range.
func (q query) firstResponse(ctx context.Context, grp string) (map[string]Durations, error) {
	inner := "SELECT " + grp + " AS grp, " + q.seconds("MIN(m.created_at)", "c.created_at") + " AS secs FROM " + q.t("conversations") + " c JOIN " +
		q.t("messages") + " m ON m.conversation_id = c.id AND m.author_type = 'agent' AND m.private = ? WHERE c.created_at >= ? AND c.created_at < ? GROUP BY c.id, " + grp + ", c.created_at"
	return q.durations(ctx, inner, false, q.r.start(), q.r.end())
}

// resolution: from opening to resolving, for conversations resolved in the range.
func (q query) resolution(ctx context.Context, grp string) (map[string]Durations, error) {
	inner := "SELECT " + grp + " AS grp, " + q.seconds("c.resolved_at", "c.created_at") + " AS secs FROM " + q.t("conversations") +
		" c WHERE c.status = 'resolved' AND c.resolved_at >= ? AND c.resolved_at < ?"
	return q.durations(ctx, inner, q.r.start(), q.r.end())
}

// counts: conversations opened, and resolved, in the range per group.
func (q query) counts(ctx context.Context, grp string) (opened, resolved map[string]int, err error) {
	scan := func(sql string) (map[string]int, error) {
		var rows []struct {
			Grp string
			N   int
		}
		if err := q.db.WithContext(ctx).Raw(sql, q.r.start(), q.r.end()).Scan(&rows).Error; err != nil {
			return nil, err
		}
		m := map[string]int{}
		for _, r := range rows {
			m[r.Grp] = r.N
		}
		return m, nil
	}
	if opened, err = scan("SELECT " + grp + " AS grp, COUNT(*) AS n FROM " + q.t("conversations") + " c WHERE c.created_at >= ? AND c.created_at < ? GROUP BY " + grp); err != nil {
		return nil, nil, err
	}
	resolved, err = scan("SELECT " + grp + " AS grp, COUNT(*) AS n FROM " + q.t("conversations") + " c WHERE c.status = 'resolved' AND c.resolved_at >= ? AND c.resolved_at < ? GROUP BY " + grp)
	return opened, resolved, err
}

// hasCSAT reports whether the conversations table has the ratings columns
// (they come with the CSAT feature's migration).
func (q query) hasCSAT(ctx context.Context) (bool, error) {
	var n int64
	var err error
	if q.pg() {
		// pg_attribute by the table's oid, not information_schema.columns:
		// that view filters after joining the whole catalog, which with a
		// schema per tenant is millions of rows.
		err = q.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM pg_attribute WHERE attrelid = to_regclass(?) AND attname = 'csat_score' AND NOT attisdropped", q.t("conversations")).Scan(&n).Error
	} else {
		err = q.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM pragma_table_info('conversations') WHERE name = 'csat_score'").Scan(&n).Error
	}
	return n > 0, err
}

// csat: ratings given in the range, per group.
func (q query) csat(ctx context.Context, grp string) (map[string]*CSAT, error) {
	ok, err := q.hasCSAT(ctx)
	if err != nil || !ok {
		return nil, err
	}
	var rows []struct {
		Grp   string
		Score int
		N     int
	}
	sql := "SELECT " + grp + " AS grp, c.csat_score AS score, COUNT(*) AS n FROM " + q.t("conversations") +
		" c WHERE c.csat_score BETWEEN 1 AND 5 AND c.csat_at >= ? AND c.csat_at < ? GROUP BY " + grp + ", c.csat_score"
	if err := q.db.WithContext(ctx).Raw(sql, q.r.start(), q.r.end()).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]*CSAT{}
	sums := map[string]int{}
	for _, r := range rows {
		c := out[r.Grp]
		if c == nil {
			c = &CSAT{}
			out[r.Grp] = c
		}
		c.Distribution[r.Score-1] += r.N
		c.Count += r.N
		sums[r.Grp] += r.Score * r.N
	}
	for g, c := range out {
		avg := math.Round(float64(sums[g])/float64(c.Count)*100) / 100
		c.Average = &avg
	}
	return out, nil
}

// whole groups every conversation together (PostgreSQL refuses GROUP BY a
// bare constant, so it is an expression that is empty on every row).
const whole = "SUBSTR(c.id, 1, 0)"

// Overview computes the tenant's report over r.
func (s *Service) Overview(ctx context.Context, tenantID string, r Range) (Overview, error) {
	q, err := s.query(tenantID, r)
	if err != nil {
		return Overview{}, err
	}
	o := Overview{From: r.From.Format("2006-01-02"), To: r.To.Format("2006-01-02"), TZ: r.Loc.String(), PerDay: []Day{}}
	opened, err := q.quarters(ctx, "created_at", "")
	if err != nil {
		return Overview{}, err
	}
	resolved, err := q.quarters(ctx, "resolved_at", " AND status = 'resolved'")
	if err != nil {
		return Overview{}, err
	}
	days := map[string]int{}
	for d := r.From; !d.After(r.To); d = d.AddDate(0, 0, 1) {
		k := d.Format("2006-01-02")
		days[k] = len(o.PerDay)
		o.PerDay = append(o.PerDay, Day{Date: k})
	}
	for qh, n := range opened {
		if i, ok := days[q.local(qh).Format("2006-01-02")]; ok {
			o.PerDay[i].Conversations += n
			o.Conversations += n
		}
	}
	for qh, n := range resolved {
		if i, ok := days[q.local(qh).Format("2006-01-02")]; ok {
			o.PerDay[i].Resolved += n
			o.Resolved += n
		}
	}
	fr, err := q.firstResponse(ctx, whole)
	if err != nil {
		return Overview{}, err
	}
	o.FirstResponse = fr[""]
	res, err := q.resolution(ctx, whole)
	if err != nil {
		return Overview{}, err
	}
	o.Resolution = res[""]
	cs, err := q.csat(ctx, whole)
	if err != nil {
		return Overview{}, err
	}
	if cs != nil {
		o.CSAT = cs[""]
		if o.CSAT == nil {
			o.CSAT = &CSAT{}
		}
	}
	if o.Deflection, err = q.deflection(ctx); err != nil {
		return Overview{}, err
	}
	return o, nil
}

// deflection counts conversations resolved in the range in which no person
// wrote a public message and a bot answered from the FAQ or a model (a
// routing decision whose trace took an "answered" way out of a faq or llm
// node, or a model call made for the conversation).
func (q query) deflection(ctx context.Context) (Deflection, error) {
	var d Deflection
	sql := "SELECT COUNT(*) AS resolved, COALESCE(SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM " + q.t("messages") +
		" m WHERE m.conversation_id = c.id AND m.author_type = 'agent' AND m.private = ?) AND (EXISTS (SELECT 1 FROM " + q.t("conversation_events") +
		" e WHERE e.conversation_id = c.id AND e.detail LIKE ?) OR EXISTS (SELECT 1 FROM " + q.t("bot_usages") +
		" u WHERE u.conversation_id = c.id AND u.kind = 'answer')) THEN 1 ELSE 0 END), 0) AS deflected FROM " + q.t("conversations") +
		" c WHERE c.status = 'resolved' AND c.resolved_at >= ? AND c.resolved_at < ?"
	if err := q.db.WithContext(ctx).Raw(sql, false, `%"outcome":"answered"%`, q.r.start(), q.r.end()).Scan(&d).Error; err != nil {
		return d, err
	}
	if d.Resolved > 0 {
		rate := math.Round(float64(d.Deflected)/float64(d.Resolved)*1000) / 1000
		d.Rate = &rate
	}
	return d, nil
}

// Heatmap counts conversations opened per local weekday and hour.
func (s *Service) Heatmap(ctx context.Context, tenantID string, r Range) (Heatmap, error) {
	q, err := s.query(tenantID, r)
	if err != nil {
		return Heatmap{}, err
	}
	opened, err := q.quarters(ctx, "created_at", "")
	if err != nil {
		return Heatmap{}, err
	}
	var h Heatmap
	for qh, n := range opened {
		t := q.local(qh)
		h.Cells[t.Weekday()][t.Hour()] += n
		h.Max = max(h.Max, h.Cells[t.Weekday()][t.Hour()])
	}
	return h, nil
}

// Agents reports per agent (the conversation's assignee), every user of
// the tenant listed, busiest first.
func (s *Service) Agents(ctx context.Context, tenantID string, r Range) ([]Group, error) {
	users, err := s.tenants.Users(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.Name
	}
	return s.groups(ctx, tenantID, r, "COALESCE(c.assignee_id, '')", names)
}

// Teams reports per team.
func (s *Service) Teams(ctx context.Context, tenantID string, r Range) ([]Group, error) {
	teams, err := s.tenants.Teams(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	return s.groups(ctx, tenantID, r, "c.team", names)
}

func (s *Service) groups(ctx context.Context, tenantID string, r Range, grp string, names map[string]string) ([]Group, error) {
	q, err := s.query(tenantID, r)
	if err != nil {
		return nil, err
	}
	opened, resolved, err := q.counts(ctx, grp)
	if err != nil {
		return nil, err
	}
	fr, err := q.firstResponse(ctx, grp)
	if err != nil {
		return nil, err
	}
	res, err := q.resolution(ctx, grp)
	if err != nil {
		return nil, err
	}
	cs, err := q.csat(ctx, grp)
	if err != nil {
		return nil, err
	}
	out := make([]Group, 0, len(names))
	for id, name := range names {
		g := Group{ID: id, Name: name, Conversations: opened[id], Resolved: resolved[id], FirstResponse: fr[id], Resolution: res[id]}
		if cs != nil {
			g.CSAT = cs[id]
			if g.CSAT == nil {
				g.CSAT = &CSAT{}
			}
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Conversations != out[j].Conversations {
			return out[i].Conversations > out[j].Conversations
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
