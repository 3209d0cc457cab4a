package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
)

// Roles. Owners and admins administer; supervisors see every conversation;
// agents answer; developer is the role of API keys.
const (
	RoleOwner      = "owner"
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleAgent      = "agent"
	RoleDeveloper  = "developer"
)

// IsStaff reports whether role sees all of a tenant's conversations.
func IsStaff(role string) bool {
	return role == RoleOwner || role == RoleAdmin || role == RoleSupervisor
}

// User is a person who logs in to the console (owner, admin, supervisor, agent).
type User struct {
	ID            string   `json:"id"`
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	Role          string   `json:"role"`
	Skills        []string `json:"skills"`
	Teams         []string `json:"teams"`
	MaxConcurrent int      `json:"max_concurrent"`
	// Load is the number of open conversations assigned now; the chat
	// service keeps it in the assignment's transaction.
	Load int `json:"active_conversations"`
	// Active is false once the user is deactivated: they cannot sign in
	// and routing passes them by.
	Active        bool       `json:"active"`
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
}

type userRow struct {
	ID                  string `gorm:"primaryKey"`
	Email               string
	Name                string
	Role                string
	PasswordHash        string
	Skills              string
	Teams               string
	MaxConcurrent       int
	ActiveConversations int
	DeactivatedAt       *time.Time
	DeletedAt           *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func (userRow) TableName(n schema.Namer) string { return n.TableName("user") }

func (r userRow) user() User {
	u := User{ID: r.ID, Email: r.Email, Name: r.Name, Role: r.Role, MaxConcurrent: r.MaxConcurrent, Load: r.ActiveConversations,
		Active: r.DeactivatedAt == nil && r.DeletedAt == nil, DeactivatedAt: r.DeactivatedAt, CreatedAt: r.CreatedAt}
	_ = json.Unmarshal([]byte(r.Skills), &u.Skills)
	if u.Skills == nil {
		u.Skills = []string{}
	}
	_ = json.Unmarshal([]byte(r.Teams), &u.Teams)
	if u.Teams == nil {
		u.Teams = []string{}
	}
	return u
}

// AgentInput creates or changes an agent.
type AgentInput struct {
	Email         string
	Name          string
	Password      string
	Role          string
	Skills        []string
	Teams         []string
	MaxConcurrent *int
}

func cleanSkills(fields map[string]string, skills []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, sk := range skills {
		sk = strings.ToLower(strings.TrimSpace(sk))
		if sk == "" || utf8.RuneCountInString(sk) > 50 || !kefu.CleanText(sk) {
			fields["skills"] = "each skill must be 1-50 characters of text"
			continue
		}
		if !seen[sk] {
			seen[sk] = true
			out = append(out, sk)
		}
	}
	if len(out) > 30 {
		fields["skills"] = "at most 30 skills"
	}
	return out
}

func cleanTeams(fields map[string]string, teams []string) []string {
	sub := map[string]string{}
	out := cleanSkills(sub, teams)
	if len(sub) > 0 {
		fields["teams"] = strings.Replace(sub["skills"], "skill", "team", 1)
	}
	return out
}

// CreateAgent adds a user to the actor's tenant. Only roles agent,
// supervisor and admin can be created (owners come only from signup), and
// none above the actor's own (see mayManage). Errors: invalid_argument;
// permission_denied; already_exists when the email is taken in this tenant.
func (s *Service) CreateAgent(ctx context.Context, actor Principal, in AgentInput) (User, error) {
	if err := s.mayManage(actor, "", ""); err != nil {
		return User{}, err
	}
	tenantID := actor.TenantID
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	fields := map[string]string{}
	if !validEmail(in.Email) {
		fields["email"] = "must be a valid email address"
	}
	checkText(fields, "name", in.Name, 100)
	checkPassword(fields, in.Password)
	if in.Role == "" {
		in.Role = RoleAgent
	}
	if err := s.checkAssignableRole(ctx, tenantID, in.Role, fields); err != nil {
		return User{}, err
	}
	skills := cleanSkills(fields, in.Skills)
	teams := cleanTeams(fields, in.Teams)
	maxc := 5
	if in.MaxConcurrent != nil {
		maxc = *in.MaxConcurrent
		if maxc < 1 || maxc > 1000 {
			fields["max_concurrent"] = "must be between 1 and 1000"
		}
	}
	if len(fields) > 0 {
		return User{}, kefu.Invalid(fields)
	}
	if err := s.mayManage(actor, "", in.Role); err != nil {
		return User{}, err
	}
	if err := s.admitSeat(ctx, tenantID); err != nil {
		return User{}, err
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return User{}, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return User{}, err
	}
	if teams, err = s.resolveTeams(ctx, db, teams); err != nil {
		return User{}, err
	}
	sk, _ := json.Marshal(skills)
	tm, _ := json.Marshal(teams)
	now := s.now()
	row := userRow{ID: NewID(), Email: in.Email, Name: in.Name, Role: in.Role, PasswordHash: hash, Skills: string(sk), Teams: string(tm), MaxConcurrent: maxc, CreatedAt: now, UpdatedAt: now}
	if err := s.insertUser(ctx, tenantID, db, &row); err != nil {
		return User{}, err
	}
	return row.user(), nil
}

// insertUser stores a new user and indexes their email. Errors:
// already_exists when the email is taken in the tenant.
func (s *Service) insertUser(ctx context.Context, tenantID string, db *DB, row *userRow) error {
	if err := db.WithContext(ctx).Create(row).Error; err != nil {
		if isUniqueViolation(err) {
			return &kefu.Error{Code: kefu.EExists, Message: "a user with this email already exists", Fields: map[string]string{"email": "is taken"}}
		}
		return err
	}
	return s.indexEmail(ctx, tenantID, row.ID, row.Email)
}

// User returns one user of the tenant, deactivated or not; not_found if
// there is none (or it was deleted).
func (s *Service) User(ctx context.Context, tenantID, userID string) (User, error) {
	row, err := s.userRow(ctx, tenantID, "id = ? AND deleted_at IS NULL", userID)
	return row.user(), err
}

func (s *Service) userRow(ctx context.Context, tenantID, where, arg string) (userRow, error) {
	var row userRow
	if !kefu.CleanText(arg) { // PostgreSQL would fail on a NUL; no user has one
		return row, kefu.Errorf(kefu.ENotFound, "no such user")
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return row, err
	}
	err = db.WithContext(ctx).Where(where, arg).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, kefu.Errorf(kefu.ENotFound, "no such user")
	}
	return row, err
}

// Users lists the tenant's users (deactivated ones too, not deleted ones),
// oldest first.
func (s *Service) Users(ctx context.Context, tenantID string) ([]User, error) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []userRow
	if err := db.WithContext(ctx).Where("deleted_at IS NULL").Order("created_at, id").Limit(5000).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, nil
}

// AgentUpdate changes an agent; nil fields stay.
type AgentUpdate struct {
	Name          *string
	Role          *string
	Skills        *[]string
	Teams         *[]string
	MaxConcurrent *int
}

// UpdateAgent changes a user's name, role, skills or cap, within the rules
// of mayManage: the actor must outrank-or-equal the user both before and
// after, and the last active owner keeps the role. A role change signs the
// user's sockets out (they reconnect with the new role) and revokes the
// keys they made that the new role no longer allows. Errors:
// invalid_argument, permission_denied, not_found, conflict (last owner).
func (s *Service) UpdateAgent(ctx context.Context, actor Principal, userID string, u AgentUpdate) (User, error) {
	if err := s.mayManage(actor, "", ""); err != nil {
		return User{}, err
	}
	tenantID := actor.TenantID
	row, err := s.userRow(ctx, tenantID, "id = ? AND deleted_at IS NULL", userID)
	if err != nil {
		return User{}, err
	}
	fields := map[string]string{}
	set := map[string]any{"updated_at": s.now()}
	if u.Name != nil {
		checkText(fields, "name", *u.Name, 100)
		set["name"] = strings.TrimSpace(*u.Name)
	}
	newRole := ""
	if u.Role != nil && *u.Role != row.Role {
		if err := s.checkAssignableRole(ctx, tenantID, *u.Role, fields); err != nil {
			return User{}, err
		}
		newRole = *u.Role
		set["role"] = newRole
	}
	if u.Skills != nil {
		b, _ := json.Marshal(cleanSkills(fields, *u.Skills))
		set["skills"] = string(b)
	}
	var teams []string
	if u.Teams != nil {
		teams = cleanTeams(fields, *u.Teams)
	}
	if u.MaxConcurrent != nil {
		if *u.MaxConcurrent < 1 || *u.MaxConcurrent > 1000 {
			fields["max_concurrent"] = "must be between 1 and 1000"
		}
		set["max_concurrent"] = *u.MaxConcurrent
	}
	if len(fields) > 0 {
		return User{}, kefu.Invalid(fields)
	}
	if err := s.mayManage(actor, row.Role, newRole); err != nil {
		return User{}, err
	}
	if newRole != "" {
		if err := s.keepAnOwner(ctx, tenantID, row); err != nil {
			return User{}, err
		}
	}
	db, _ := s.store.Tenant(tenantID)
	if u.Teams != nil {
		if teams, err = s.resolveTeams(ctx, db, teams); err != nil {
			return User{}, err
		}
		b, _ := json.Marshal(teams)
		set["teams"] = string(b)
	}
	if err := db.WithContext(ctx).Model(&userRow{}).Where("id = ?", userID).Updates(set).Error; err != nil {
		return User{}, fmt.Errorf("update agent: %w", err)
	}
	if newRole != "" {
		s.announce(ctx, AccountEvent{Kind: AccountRoleChanged, TenantID: tenantID, UserID: userID, Role: newRole})
		if err := s.revokeKeysOf(ctx, tenantID, userID, newRole); err != nil {
			return User{}, err
		}
	}
	return s.User(ctx, tenantID, userID)
}
