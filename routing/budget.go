package routing

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// Limits on what one flow run's expressions may cost. Every expression of a
// run — each condition, switch case and set node — draws on one meter, so a
// flow cannot multiply them by having many nodes. Sizes are enforced where a
// value is made (string +, ranges, list and map literals, map/filter results,
// the builtins that build strings or lists), so no value an expression holds is
// ever larger than these, whatever the expression does.
const (
	// MaxStringBytes is the longest string an operator or builtin may build:
	// twice the largest message body, so case and trim transforms of any
	// message always fit.
	MaxStringBytes = 32 * 1024
	// MaxItems is the most elements a list or map an expression builds may hold.
	MaxItems = 10_000
	// MaxValueBytes bounds a built value's size counted in full: its strings'
	// bytes plus 8 to 24 per element, a part that appears twice counted
	// twice. A list of 10,000 references to one long string is as large as
	// its copy.
	MaxValueBytes = 256 * 1024
	// MaxDepth is how deeply lists and maps an expression builds may nest.
	MaxDepth = 32
	// MaxRunSteps is how many steps one run's expressions may take: a step
	// is one element a predicate (all, any, map, filter, reduce, …) visits,
	// or about 16 elements or 256 bytes a builtin reads or writes.
	MaxRunSteps = 200_000
	// MaxRunBytes is how much one run's expressions may allocate for the
	// strings and lists they build.
	MaxRunBytes = 2 << 20
	// MaxRunTime is how long one run's expressions may evaluate, in total.
	// Time spent in the flow's services (webhooks, the model) does not count.
	MaxRunTime = 30 * time.Millisecond
	// MaxRegexInsts bounds a `matches` pattern's compiled program: matching
	// costs up to its length times the text's.
	MaxRegexInsts = 200
	// MaxSetBytes is the largest value a set node may store (as JSON): the
	// size of all of a visitor's stored attributes.
	MaxSetBytes = 8 * 1024
	// MaxInputBytes bounds the event a flow runs on (visitor, message,
	// conversation), counted like MaxValueBytes.
	MaxInputBytes = 64 * 1024
	// vmMemory is expr's own per-evaluation allocation budget, in elements
	// (list literals and the lists map and filter return).
	vmMemory = 4 * MaxItems
)

// ErrBudget is wrapped by every error that stops an expression because its
// run's budget is spent.
var ErrBudget = errors.New("the flow run's expression budget is spent")

// meter is one run's budget. Expressions reach it through Env.Meter, which
// no expression can name (its name is not an identifier); the patched-in
// calls pass it to the capped builtins and to the tick of every predicate.
// A meter belongs to one run, which is one goroutine.
type meter struct {
	steps, bytes int64
	spent        time.Duration // evaluation time of the finished evaluations
	start        time.Time     // of the evaluation under way
	deadline     time.Time
	ctxDeadline  time.Time // zero: the context has none
	err          error     // sticky: once spent, every later charge fails
}

func newMeter(ctx context.Context) *meter {
	m := &meter{}
	if d, ok := ctx.Deadline(); ok {
		m.ctxDeadline = d
	}
	return m
}

// tick is Env.Tick: one step of a predicate.
func (m *meter) tick() bool {
	if err := m.charge(1, 0); err != nil {
		panic(err)
	}
	return true
}

// begin starts an evaluation: its deadline is what is left of the run's time.
func (m *meter) begin() error {
	if m.err != nil {
		return m.err
	}
	m.start = time.Now()
	m.deadline = m.start.Add(MaxRunTime - m.spent)
	if !m.ctxDeadline.IsZero() && m.ctxDeadline.Before(m.deadline) {
		m.deadline = m.ctxDeadline
	}
	return m.check()
}

// end adds the evaluation's time to the run's.
func (m *meter) end() { m.spent += time.Since(m.start) }

// charge counts work about to be done and memory about to be allocated, and
// fails (for good) once the run's budget is spent. Callers charge before
// the work, so no single operation runs past the budget by more than itself.
func (m *meter) charge(steps, bytes int64) error {
	if m == nil {
		return fmt.Errorf("%w: no budget", ErrBudget)
	}
	if m.err != nil {
		return m.err
	}
	m.steps += steps
	m.bytes += bytes
	return m.check()
}

func (m *meter) check() error {
	switch {
	case m.steps > MaxRunSteps:
		m.err = fmt.Errorf("%w: more than %d steps", ErrBudget, MaxRunSteps)
	case m.bytes > MaxRunBytes:
		m.err = fmt.Errorf("%w: more than %d bytes built", ErrBudget, MaxRunBytes)
	case !m.ctxDeadline.IsZero() && !time.Now().Before(m.ctxDeadline):
		m.err = fmt.Errorf("%w: the run's deadline passed", ErrBudget)
	case !time.Now().Before(m.deadline):
		m.err = fmt.Errorf("%w: more than %v of evaluation", ErrBudget, MaxRunTime)
	}
	return m.err
}

// stepsFor is the charge for reading or writing n bytes and k elements.
func stepsFor(bytes, elems int64) int64 { return 1 + bytes/256 + elems/16 }

// sizer measures values. Its walk stops as soon as the value is over the
// limit, so measuring costs O(limit) whatever the value: a list holding one
// list 10,000 times stops after MaxValueBytes/16 elements.
type sizer struct {
	limit    int64
	maxDepth int
	size     int64
	visits   int64
}

// sizeOf returns v's size counted in full (see MaxValueBytes) and how many
// elements were visited, or an error naming the limit v breaks.
func sizeOf(v any, limit int64, maxDepth int) (size, visits int64, err error) {
	s := &sizer{limit: limit, maxDepth: maxDepth}
	err = s.walk(v, 0)
	return s.size, s.visits, err
}

func (s *sizer) add(n int64) error {
	s.size += n
	s.visits++
	if s.size > s.limit {
		return fmt.Errorf("value is larger than %d bytes", s.limit)
	}
	return nil
}

func (s *sizer) items(n int) error {
	if n > MaxItems {
		return fmt.Errorf("list or map of %d elements is over the limit of %d", n, MaxItems)
	}
	return nil
}

func (s *sizer) walk(v any, depth int) error {
	if depth > s.maxDepth {
		return fmt.Errorf("value is nested deeper than %d levels", s.maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, int, int64, float64:
		return s.add(8)
	case string:
		return s.add(16 + int64(len(x)))
	case []any:
		if err := s.items(len(x)); err != nil {
			return err
		}
		if err := s.add(24); err != nil {
			return err
		}
		for _, e := range x {
			if err := s.walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if err := s.items(len(x)); err != nil {
			return err
		}
		if err := s.add(48); err != nil {
			return err
		}
		for k, e := range x {
			if err := s.add(16 + int64(len(k))); err != nil {
				return err
			}
			if err := s.walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []int:
		if err := s.items(len(x)); err != nil {
			return err
		}
		return s.add(24 + 8*int64(len(x)))
	case []string:
		if err := s.items(len(x)); err != nil {
			return err
		}
		if err := s.add(24); err != nil {
			return err
		}
		for _, e := range x {
			if err := s.add(16 + int64(len(e))); err != nil {
				return err
			}
		}
		return nil
	}
	return s.walkValue(reflect.ValueOf(v), depth)
}

// walkValue measures what the fast paths do not: the environment's structs
// (a list may hold `visitor`), typed lists and maps, pairs.
func (s *sizer) walkValue(v reflect.Value, depth int) error {
	switch v.Kind() {
	case reflect.Invalid:
		return s.add(8)
	case reflect.String:
		return s.add(16 + int64(v.Len()))
	case reflect.Slice, reflect.Array:
		if err := s.items(v.Len()); err != nil {
			return err
		}
		if err := s.add(24); err != nil {
			return err
		}
		for i := 0; i < v.Len(); i++ {
			if err := s.walk(v.Index(i).Interface(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if err := s.items(v.Len()); err != nil {
			return err
		}
		if err := s.add(48); err != nil {
			return err
		}
		it := v.MapRange()
		for it.Next() {
			if err := s.walk(it.Key().Interface(), depth+1); err != nil {
				return err
			}
			if err := s.walk(it.Value().Interface(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Struct:
		if err := s.add(16); err != nil {
			return err
		}
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			if err := s.walk(v.Field(i).Interface(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return s.add(8)
		}
		return s.walkValue(v.Elem(), depth+1)
	}
	return s.add(8)
}
