package chat

import (
	"encoding/json"
	"time"

	"gorm.io/gorm/schema"
)

type visitorRow struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	Email      string
	Attributes string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

func (visitorRow) TableName(n schema.Namer) string { return n.TableName("visitor") }

func (r visitorRow) visitor() Visitor {
	v := Visitor{ID: r.ID, Name: r.Name, Email: r.Email}
	_ = json.Unmarshal([]byte(r.Attributes), &v.Attributes)
	if v.Attributes == nil {
		v.Attributes = map[string]any{}
	}
	return v
}

type conversationRow struct {
	ID                string `gorm:"primaryKey"`
	VisitorID         string
	Status            string
	AssigneeID        *string
	Team              string
	LastSeq           int64
	LastMessageBody   string
	LastMessageAuthor string
	LastMessageAt     *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	ResolvedAt        *time.Time
	Labels            string
	FlowID            *string
	FlowVersion       *int
	FlowNode          *string
	QueuedAt          *time.Time
	QueueDeadline     *time.Time
	Priority          int
	SnoozedUntil      *time.Time
	LastVisitorBody   string
	LastVisitorAt     *time.Time
	WaitingSince      *time.Time
	LastAgentID       *string
	Attributes        string // JSON object; "" on rows an older server wrote reads as {}
}

func (conversationRow) TableName(n schema.Namer) string { return n.TableName("conversation") }

func (r conversationRow) conversation(v Visitor) Conversation {
	c := Conversation{ID: r.ID, Status: r.Status, Visitor: v, Team: r.Team, LastSeq: r.LastSeq, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.AssigneeID != nil {
		c.AssigneeID = *r.AssigneeID
	}
	if r.LastMessageAt != nil {
		c.LastMessage = &LastMessage{Body: r.LastMessageBody, AuthorType: r.LastMessageAuthor, CreatedAt: *r.LastMessageAt}
	}
	c.Priority = priorityName(r.Priority)
	if r.SnoozedUntil != nil {
		at := r.SnoozedUntil.UTC()
		c.SnoozedUntil = &at
	}
	if r.LastVisitorAt != nil {
		c.LastVisitorMessage = &LastMessage{Body: r.LastVisitorBody, AuthorType: AuthorVisitor, CreatedAt: *r.LastVisitorAt}
	}
	c.WaitingSince = r.WaitingSince
	_ = json.Unmarshal([]byte(r.Labels), &c.Labels)
	if c.Labels == nil {
		c.Labels = []string{}
	}
	_ = json.Unmarshal([]byte(r.Attributes), &c.Attributes)
	if c.Attributes == nil {
		c.Attributes = map[string]any{}
	}
	return c
}

func (r conversationRow) assignee() string {
	if r.AssigneeID == nil {
		return ""
	}
	return *r.AssigneeID
}

type messageRow struct {
	ID             string `gorm:"primaryKey"`
	ConversationID string
	Seq            int64
	ClientID       *string
	AuthorType     string
	AuthorID       string
	AuthorName     string
	Body           string
	Private        bool
	Attachments    string
	System         string // a system message's code and parameters (JSON), or ""
	CreatedAt      time.Time
}

func (messageRow) TableName(n schema.Namer) string { return n.TableName("message") }

func (r messageRow) message() Message {
	m := Message{ID: r.ID, ConversationID: r.ConversationID, Seq: r.Seq, Author: Author{Type: r.AuthorType, ID: r.AuthorID, Name: r.AuthorName}, Body: r.Body, Private: r.Private, CreatedAt: r.CreatedAt}
	if r.ClientID != nil {
		m.ClientID = *r.ClientID
	}
	if r.System != "" {
		m.System = decodeNote(r.System)
	}
	if r.Attachments != "" && r.Attachments != "[]" { // most messages have none
		_ = json.Unmarshal([]byte(r.Attachments), &m.Attachments)
	}
	if m.Attachments == nil {
		m.Attachments = []Attachment{}
	}
	return m
}

type flowRow struct {
	ID               string `gorm:"primaryKey"`
	Name             string
	LatestVersion    int
	PublishedVersion *int
	Active           bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (flowRow) TableName(n schema.Namer) string { return n.TableName("flow") }

type flowVersionRow struct {
	FlowID    string `gorm:"primaryKey"`
	Version   int    `gorm:"primaryKey"`
	Graph     string
	CreatedBy string
	CreatedAt time.Time
}

func (flowVersionRow) TableName(n schema.Namer) string { return n.TableName("flow_version") }

type eventRow struct {
	ID             string `gorm:"primaryKey"`
	ConversationID string
	Kind           string
	Detail         string
	CreatedAt      time.Time
}

func (eventRow) TableName(n schema.Namer) string { return n.TableName("conversation_event") }
