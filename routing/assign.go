package routing

import (
	"sort"
	"strings"
)

// Agent is an agent as assignment sees it: who they are, what they can do,
// and how loaded they are now.
type Agent struct {
	ID            string
	Name          string
	Skills        []string
	Teams         []string
	MaxConcurrent int
	Load          int // open conversations assigned now
	Online        bool
}

func hasAll(have, want []string) bool {
	set := map[string]bool{}
	for _, h := range have {
		set[strings.ToLower(h)] = true
	}
	for _, w := range want {
		if !set[strings.ToLower(w)] {
			return false
		}
	}
	return true
}

// Eligible filters agents to those who may take a conversation now: online,
// under their cap, in the team (when one is asked for), and with every
// required skill.
func Eligible(req AssignRequest, agents []Agent) []Agent {
	var out []Agent
	for _, a := range agents {
		if !a.Online || (a.MaxConcurrent > 0 && a.Load >= a.MaxConcurrent) {
			continue
		}
		if req.Team != "" && !hasAll(a.Teams, []string{req.Team}) {
			continue
		}
		if len(req.Skills) > 0 && !hasAll(a.Skills, req.Skills) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Rank orders the eligible agents by the strategy, best first. Round robin
// rotates per tenant; least busy and skills prefer the lowest load (ties by
// id, so the choice is stable). The caller tries them in order, because a
// reservation can still fail when another node took the last slot.
func Rank(strategy, tenant string, req AssignRequest, agents []Agent, rr *RoundRobin) []Agent {
	cands := Eligible(req, agents)
	if len(cands) == 0 {
		return nil
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
	switch strategy {
	case StrategyLeastBusy, StrategySkills:
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].Load < cands[j].Load })
		return cands
	default:
		ids := make([]Candidate, len(cands))
		for i, a := range cands {
			ids[i] = Candidate{ID: a.ID, Name: a.Name}
		}
		first, _ := rr.Pick(tenant, ids)
		for i, a := range cands {
			if a.ID == first.ID {
				return append(cands[i:], cands[:i]...)
			}
		}
		return cands
	}
}
