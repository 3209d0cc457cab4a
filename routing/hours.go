package routing

import (
	"fmt"
	"sort"
	"time"
	"unicode/utf8"
)

// Hours is a weekly opening schedule in a time zone, with holidays (whole
// days closed). A business_hours node carries one; so does a tenant (its
// business-hours setting, which a node with an empty schedule falls back
// to, and which the widget shows).
type Hours struct {
	Timezone string   `json:"timezone"`
	Schedule Schedule `json:"schedule"`
	Holidays []string `json:"holidays"`
}

// Bounds of an Hours: everything a tenant programs is bounded.
const (
	MaxIntervalsPerDay = 10
	MaxHolidays        = 366
)

// dayNames are the schedule's keys, Sunday first like time.Weekday.
var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Validate reports every problem at once, keyed by the offending field
// ("timezone", "schedule.mon[0]", "holidays[2]"); nil when h is valid. An
// empty timezone is an error here (a node's defaults to UTC before it is
// validated).
func (h Hours) Validate() map[string]string {
	fields := map[string]string{}
	if h.Timezone == "" {
		fields["timezone"] = "is required"
	} else if utf8.RuneCountInString(h.Timezone) > 64 {
		fields["timezone"] = "must be at most 64 characters"
	} else if _, err := loadTZ(h.Timezone); err != nil {
		fields["timezone"] = fmt.Sprintf("unknown time zone %q", h.Timezone)
	}
	for day, spans := range h.Schedule {
		if _, ok := weekdays[day]; !ok {
			fields["schedule."+sanitize(day)] = "must be one of mon tue wed thu fri sat sun"
			continue
		}
		if len(spans) > MaxIntervalsPerDay {
			fields["schedule."+day] = fmt.Sprintf("at most %d intervals a day", MaxIntervalsPerDay)
			continue
		}
		for i, s := range spans {
			if !hhmmPattern.MatchString(s[0]) || !hhmmPattern.MatchString(s[1]) || s[0] >= s[1] {
				fields[fmt.Sprintf("schedule.%s[%d]", day, i)] = "must be HH:MM–HH:MM with the start before the end"
			}
		}
	}
	if len(h.Holidays) > MaxHolidays {
		fields["holidays"] = fmt.Sprintf("at most %d dates", MaxHolidays)
	} else {
		for i, d := range h.Holidays {
			if _, err := time.Parse("2006-01-02", d); err != nil || !datePattern.MatchString(d) {
				fields[fmt.Sprintf("holidays[%d]", i)] = "must be a date like 2026-12-25"
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return fields
}

func sanitize(s string) string {
	if utf8.RuneCountInString(s) > 16 || !utf8.ValidString(s) {
		return "?"
	}
	return s
}

// Empty reports whether h has no opening times and no holidays (a node
// with such hours uses the tenant's).
func (h Hours) Empty() bool {
	for _, spans := range h.Schedule {
		if len(spans) > 0 {
			return false
		}
	}
	return len(h.Holidays) == 0
}

func (h Hours) location() *time.Location {
	if l, err := loadTZ(h.Timezone); err == nil && h.Timezone != "" {
		return l
	}
	return time.UTC
}

func (h Hours) holiday(date string) bool {
	for _, d := range h.Holidays {
		if d == date {
			return true
		}
	}
	return false
}

// OpenAt reports whether the business is open at t, and why (in words for
// traces).
func (h Hours) OpenAt(t time.Time) (bool, string) {
	local := t.In(h.location())
	date := local.Format("2006-01-02")
	if h.holiday(date) {
		return false, "holiday " + date
	}
	day := dayNames[local.Weekday()]
	hm := local.Format("15:04")
	for _, s := range h.Schedule[day] {
		if hm >= s[0] && hm < s[1] {
			return true, fmt.Sprintf("%s %s is within %s–%s %s", day, hm, s[0], s[1], h.Timezone)
		}
	}
	return false, fmt.Sprintf("%s %s is outside the hours (%s)", day, hm, h.Timezone)
}

// NextOpen is the first moment at or after t when the business is open;
// ok=false when it never opens within the next 400 days (no schedule, or
// holidays over every open day).
func (h Hours) NextOpen(t time.Time) (time.Time, bool) {
	loc := h.location()
	local := t.In(loc)
	if open, _ := h.OpenAt(t); open {
		return t, true
	}
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	for d := 0; d < 400; d++ {
		day := midnight.AddDate(0, 0, d)
		if h.holiday(day.Format("2006-01-02")) {
			continue
		}
		starts := make([]string, 0, len(h.Schedule[dayNames[day.Weekday()]]))
		for _, s := range h.Schedule[dayNames[day.Weekday()]] {
			starts = append(starts, s[0])
		}
		sort.Strings(starts)
		for _, st := range starts {
			var hh, mm int
			if _, err := fmt.Sscanf(st, "%d:%d", &hh, &mm); err != nil {
				continue
			}
			at := time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, loc)
			if at.After(t) {
				return at.UTC(), true
			}
		}
	}
	return time.Time{}, false
}
