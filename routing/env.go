package routing

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Env is what a flow expression sees. It is plain data: no field has
// methods an expression could call, and the helpers are the functions
// registered in exprOptions.
type Env struct {
	Event        string          `expr:"event"` // conversation.created, message.created, …
	Visitor      VisitorEnv      `expr:"visitor"`
	Message      MessageEnv      `expr:"message"`
	Conversation ConversationEnv `expr:"conversation"`
	Now          NowEnv          `expr:"now"`
	// Meter is the run's budget, which the sandbox's patched-in calls
	// charge. Its name is not an identifier, so expressions cannot use it.
	Meter *meter `expr:"kefu:meter"`
	// Tick charges one step of a predicate; it panics (which the VM turns
	// into the evaluation's error) once the budget is spent. A typed
	// func() bool is called without allocating, unlike a registered function.
	Tick func() bool `expr:"kefu:tick"`
}

// VisitorEnv is the visitor as expressions see it.
type VisitorEnv struct {
	ID         string         `expr:"id" json:"id"`
	Name       string         `expr:"name" json:"name"`
	Email      string         `expr:"email" json:"email"`
	Language   string         `expr:"language" json:"language"`
	Country    string         `expr:"country" json:"country"`
	PageURL    string         `expr:"page_url" json:"page_url"`
	Referrer   string         `expr:"referrer" json:"referrer"`
	Returning  bool           `expr:"returning" json:"returning"`
	Attributes map[string]any `expr:"attributes" json:"attributes"`
}

// MessageEnv is the message that triggered the run (empty on conversation.created
// without text).
type MessageEnv struct {
	Text          string `expr:"text" json:"text"`
	HasAttachment bool   `expr:"has_attachment" json:"has_attachment"`
}

// ConversationEnv is the conversation being routed.
type ConversationEnv struct {
	ID            string `expr:"id" json:"id"`
	Status        string `expr:"status" json:"status"`
	MessagesCount int    `expr:"messages_count" json:"messages_count"`
	WaitSeconds   int    `expr:"wait_seconds" json:"wait_seconds"`
}

// Helpers: contains_any(text, [words]) (case-insensitive), hour(now[, tz]),
// weekday(now[, tz]) (0 = Sunday), attr(map, key) (a value as a string);
// and expr's own operators, among them `text matches "regexp"` (RE2).

// NowEnv is the time of the event, in UTC, as plain fields. hour(now, tz)
// and weekday(now, tz) give local values.
type NowEnv struct {
	Unix    int64  `expr:"unix"`
	Year    int    `expr:"year"`
	Month   int    `expr:"month"`
	Day     int    `expr:"day"`
	Hour    int    `expr:"hour"`
	Minute  int    `expr:"minute"`
	Weekday int    `expr:"weekday"` // 0 = Sunday
	Date    string `expr:"date"`    // 2006-01-02
}

// NewNow makes the expression view of t.
func NewNow(t time.Time) NowEnv {
	t = t.UTC()
	return NowEnv{Unix: t.Unix(), Year: t.Year(), Month: int(t.Month()), Day: t.Day(), Hour: t.Hour(), Minute: t.Minute(), Weekday: int(t.Weekday()), Date: t.Format("2006-01-02")}
}

// Limits on expressions, checked when a flow is saved.
const (
	MaxExprLen   = 1000
	MaxExprNodes = 300
)

var tzCache sync.Map

func loadTZ(name string) (*time.Location, error) {
	if l, ok := tzCache.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	tzCache.Store(name, l)
	return l, nil
}

func localTime(params []any) (time.Time, error) {
	now, _ := params[0].(NowEnv)
	t := time.Unix(now.Unix, 0).UTC()
	if len(params) > 1 {
		tz, _ := params[1].(string)
		l, err := loadTZ(tz)
		if err != nil {
			return t, fmt.Errorf("unknown time zone %q", tz)
		}
		t = t.In(l)
	}
	return t, nil
}

// exprOptions are the options every flow expression compiles with: the typed
// environment, the helpers with their signatures, and the size bound. The
// sandbox (sandbox.go) adds its patch and capped functions to the program
// that runs; contains_any and attr below are what expr's type check sees,
// and the sandbox's capped versions are what runs.
func exprOptions() []expr.Option {
	return []expr.Option{
		expr.Env(Env{}),
		expr.MaxNodes(MaxExprNodes),
		expr.Function("contains_any", func(params ...any) (any, error) {
			s, _ := params[0].(string)
			s = strings.ToLower(s)
			words, _ := params[1].([]any)
			for _, w := range words {
				if ws, ok := w.(string); ok && ws != "" && strings.Contains(s, strings.ToLower(ws)) {
					return true, nil
				}
			}
			return false, nil
		}, new(func(string, []any) bool)),
		expr.Function("hour", func(params ...any) (any, error) {
			t, err := localTime(params)
			return t.Hour(), err
		}, new(func(NowEnv) int), new(func(NowEnv, string) int)),
		expr.Function("weekday", func(params ...any) (any, error) {
			t, err := localTime(params)
			return int(t.Weekday()), err
		}, new(func(NowEnv) int), new(func(NowEnv, string) int)),
		expr.Function("attr", func(params ...any) (any, error) {
			m, _ := params[0].(map[string]any)
			k, _ := params[1].(string)
			if v, ok := m[k]; ok {
				return fmt.Sprint(v), nil
			}
			return "", nil
		}, new(func(map[string]any, string) string)),
	}
}

// CompileBool compiles a boolean expression (condition, switch case) in the
// sandbox: it runs within its run's budget (budget.go).
func CompileBool(src string) (*vm.Program, error) { return compileExpr(src, true) }

// CompileValue compiles an expression of any type (set node) in the sandbox.
func CompileValue(src string) (*vm.Program, error) { return compileExpr(src, false) }

func checkSource(src string) error {
	if strings.TrimSpace(src) == "" {
		return fmt.Errorf("expression is empty")
	}
	if len(src) > MaxExprLen {
		return fmt.Errorf("expression is longer than %d characters", MaxExprLen)
	}
	return nil
}
