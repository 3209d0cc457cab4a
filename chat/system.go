package chat

import (
	"context"
	"encoding/json"
	"strings"
)

// System message codes. A system message says what happened as a code and
// parameters, which every client renders in its own language; its body is
// a rendering in the tenant's language for API clients.
const (
	NoteAssigned         = "assigned"      // agent_id, agent_name
	NoteTransferred      = "transferred"   // from_id, from_name, agent_id, agent_name, note?
	NoteTeamAssigned     = "team_assigned" // team
	NoteUnassigned       = "unassigned"
	NoteResolved         = "resolved"          // by_name
	NoteReopened         = "reopened"          // by_name? (empty: the visitor wrote)
	NoteAgentAway        = "agent_away"        // agent_id, agent_name (private: the console's)
	NoteAgentUnavailable = "agent_unavailable" // agent_id, agent_name: deactivated (private)
	NoteQueued           = "queued"
)

// SystemNote is a system message's code and parameters.
type SystemNote struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params,omitempty"`
}

// note is a system message a conversation change stores: private ones
// (the business's own bookkeeping) never reach the visitor.
type note struct {
	SystemNote
	private bool
}

func newNote(code string, kv ...string) *note {
	n := &note{SystemNote: SystemNote{Code: code}}
	if len(kv) > 0 {
		n.Params = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			n.Params[kv[i]] = kv[i+1]
		}
	}
	return n
}

var noteTexts = map[string]map[string]string{
	"en": {
		NoteAssigned:         "Assigned to {agent_name}",
		NoteTransferred:      "Transferred from {from_name} to {agent_name}",
		NoteTeamAssigned:     "Assigned to team {team}",
		NoteUnassigned:       "Back in the queue",
		NoteResolved:         "Resolved by {by_name}",
		NoteReopened:         "Reopened",
		NoteAgentAway:        "{agent_name} went offline; waiting for another agent",
		NoteAgentUnavailable: "{agent_name} is no longer available; waiting for another agent",
		NoteQueued:           "Waiting for an agent",
	},
	"zh-CN": {
		NoteAssigned:         "已分配给 {agent_name}",
		NoteTransferred:      "已从 {from_name} 转接给 {agent_name}",
		NoteTeamAssigned:     "已分配给 {team} 团队",
		NoteUnassigned:       "已回到排队",
		NoteResolved:         "{by_name} 已结束会话",
		NoteReopened:         "会话已重新打开",
		NoteAgentAway:        "{agent_name} 已离线，正在等待其他客服",
		NoteAgentUnavailable: "{agent_name} 已无法接待，正在等待其他客服",
		NoteQueued:           "正在等待客服",
	},
}

// Render is the note in lang (en or zh-CN), for API clients that do not
// render codes themselves.
func (n SystemNote) Render(lang string) string {
	texts, ok := noteTexts[lang]
	if !ok {
		texts = noteTexts["en"]
	}
	t, ok := texts[n.Code]
	if !ok {
		return n.Code
	}
	for k, v := range n.Params {
		t = strings.ReplaceAll(t, "{"+k+"}", v)
	}
	return t
}

func (n SystemNote) encode() string {
	b, _ := json.Marshal(n)
	return string(b)
}

func decodeNote(s string) *SystemNote {
	if s == "" {
		return nil
	}
	var n SystemNote
	if json.Unmarshal([]byte(s), &n) != nil || n.Code == "" {
		return nil
	}
	return &n
}

// language is the tenant's language for system messages' bodies (English
// when the tenant cannot be read).
func (s *Service) language(ctx context.Context, tenantID string) string {
	t, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return "en"
	}
	return t.Language
}
