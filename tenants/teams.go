package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
)

// MaxTeams bounds how many teams a tenant keeps (and how many one agent is in).
const MaxTeams = 200

// Team is a group of agents that conversations can be given to. Who is in a
// team is kept on the users (User.Teams holds team ids), so an agent's scope
// is one row; Members is read from there.
type Team struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type teamRow struct {
	ID        string `gorm:"primaryKey"`
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (teamRow) TableName(n schema.Namer) string { return n.TableName("team") }

// TeamInput creates or changes a team; a nil field stays as it is.
type TeamInput struct {
	Name    *string
	Members *[]string // user ids
}

// Teams lists the tenant's teams by name, each with its members.
func (s *Service) Teams(ctx context.Context, tenantID string) ([]Team, error) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []teamRow
	if err := db.WithContext(ctx).Order("lower(name), id").Limit(MaxTeams).Find(&rows).Error; err != nil {
		return nil, err
	}
	users, err := s.Users(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]Team, len(rows))
	for i, r := range rows {
		out[i] = r.team(users)
	}
	return out, nil
}

func (r teamRow) team(users []User) Team {
	t := Team{ID: r.ID, Name: r.Name, Members: []string{}, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	for _, u := range users {
		if slices.Contains(u.Teams, r.ID) {
			t.Members = append(t.Members, u.ID)
		}
	}
	return t
}

// Team returns one team. Errors: not_found.
func (s *Service) Team(ctx context.Context, tenantID, id string) (Team, error) {
	row, err := s.teamRow(ctx, tenantID, id)
	if err != nil {
		return Team{}, err
	}
	users, err := s.Users(ctx, tenantID)
	if err != nil {
		return Team{}, err
	}
	return row.team(users), nil
}

func (s *Service) teamRow(ctx context.Context, tenantID, id string) (teamRow, error) {
	var row teamRow
	if !kefu.CleanText(id) {
		return row, kefu.Errorf(kefu.ENotFound, "no such team")
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return row, err
	}
	err = db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, kefu.Errorf(kefu.ENotFound, "no such team")
	}
	return row, err
}

func checkTeamName(fields map[string]string, name string) string {
	name = strings.TrimSpace(name)
	checkText(fields, "name", name, 50)
	return name
}

// CreateTeam adds a team with its members. Errors: invalid_argument (an
// unknown member too), already_exists when the name is taken.
func (s *Service) CreateTeam(ctx context.Context, tenantID string, in TeamInput) (Team, error) {
	fields := map[string]string{}
	name := ""
	if in.Name == nil {
		fields["name"] = "is required"
	} else {
		name = checkTeamName(fields, *in.Name)
	}
	if len(fields) > 0 {
		return Team{}, kefu.Invalid(fields)
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return Team{}, err
	}
	var n int64
	if err := db.WithContext(ctx).Model(&teamRow{}).Count(&n).Error; err != nil {
		return Team{}, err
	}
	if n >= MaxTeams {
		return Team{}, kefu.Invalid(map[string]string{"name": "a workspace has at most 200 teams"})
	}
	now := s.now()
	row := teamRow{ID: NewID(), Name: name, CreatedAt: now, UpdatedAt: now}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			if isUniqueViolation(err) {
				return &kefu.Error{Code: kefu.EExists, Message: "a team with this name already exists", Fields: map[string]string{"name": "is taken"}}
			}
			return err
		}
		if in.Members != nil {
			return setMembers(tx, db, row.ID, *in.Members)
		}
		return nil
	})
	if err != nil {
		return Team{}, err
	}
	return s.Team(ctx, tenantID, row.ID)
}

// UpdateTeam renames a team or replaces its members. Errors: not_found,
// invalid_argument, already_exists.
func (s *Service) UpdateTeam(ctx context.Context, tenantID, id string, in TeamInput) (Team, error) {
	row, err := s.teamRow(ctx, tenantID, id)
	if err != nil {
		return Team{}, err
	}
	fields := map[string]string{}
	if in.Name != nil {
		row.Name = checkTeamName(fields, *in.Name)
	}
	if len(fields) > 0 {
		return Team{}, kefu.Invalid(fields)
	}
	db, _ := s.store.Tenant(tenantID)
	row.UpdatedAt = s.now()
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&teamRow{}).Where("id = ?", id).Updates(map[string]any{"name": row.Name, "updated_at": row.UpdatedAt}).Error; err != nil {
			if isUniqueViolation(err) {
				return &kefu.Error{Code: kefu.EExists, Message: "a team with this name already exists", Fields: map[string]string{"name": "is taken"}}
			}
			return err
		}
		if in.Members != nil {
			return setMembers(tx, db, id, *in.Members)
		}
		return nil
	})
	if err != nil {
		return Team{}, err
	}
	return s.Team(ctx, tenantID, id)
}

// DeleteTeam removes a team and takes it off its members. Conversations
// given to it are the chat service's to clear. Errors: not_found.
func (s *Service) DeleteTeam(ctx context.Context, tenantID, id string) error {
	if _, err := s.teamRow(ctx, tenantID, id); err != nil {
		return err
	}
	db, _ := s.store.Tenant(tenantID)
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := setMembers(tx, db, id, nil); err != nil {
			return err
		}
		return tx.Where("id = ?", id).Delete(&teamRow{}).Error
	})
}

// setMembers makes exactly the given users the team's members, inside tx.
func setMembers(tx *gorm.DB, db *DB, teamID string, members []string) error {
	want := map[string]bool{}
	for _, m := range members {
		if !kefu.CleanText(m) || len(m) > 100 {
			return kefu.Invalid(map[string]string{"members": "holds a value that is not a user id"})
		}
		want[m] = true
	}
	if len(want) > 5000 {
		return kefu.Invalid(map[string]string{"members": "at most 5000 members"})
	}
	var rows []userRow
	if err := tx.Model(&userRow{}).Select("id, teams").Find(&rows).Error; err != nil {
		return err
	}
	found := 0
	for _, r := range rows {
		var teams []string
		_ = json.Unmarshal([]byte(r.Teams), &teams)
		has := slices.Contains(teams, teamID)
		if want[r.ID] {
			found++
		}
		switch {
		case want[r.ID] && !has:
			if len(teams) >= MaxTeams {
				return kefu.Invalid(map[string]string{"members": "a member is in too many teams"})
			}
			teams = append(teams, teamID)
		case !want[r.ID] && has:
			teams = slices.DeleteFunc(teams, func(t string) bool { return t == teamID })
		default:
			continue
		}
		if teams == nil {
			teams = []string{}
		}
		b, _ := json.Marshal(teams)
		if err := tx.Model(&userRow{}).Where("id = ?", r.ID).Update("teams", string(b)).Error; err != nil {
			return err
		}
	}
	if found != len(want) {
		return kefu.Invalid(map[string]string{"members": "holds an id that is not a user of this workspace"})
	}
	return nil
}

// resolveTeams turns what a client gave as an agent's teams — team ids, or
// names as before teams had ids — into team ids, creating a team for a name
// that has none, so clients written for names keep working.
func (s *Service) resolveTeams(ctx context.Context, db *DB, refs []string) ([]string, error) {
	out := []string{}
	if len(refs) == 0 {
		return out, nil
	}
	var rows []teamRow
	if err := db.WithContext(ctx).Limit(MaxTeams + 1).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, ref := range refs {
		id := ""
		for _, r := range rows {
			if r.ID == ref || strings.EqualFold(r.Name, ref) {
				id = r.ID
				break
			}
		}
		if id == "" {
			if len(rows) >= MaxTeams {
				return nil, kefu.Invalid(map[string]string{"teams": "a workspace has at most 200 teams"})
			}
			now := s.now()
			r := teamRow{ID: NewID(), Name: ref, CreatedAt: now, UpdatedAt: now}
			if err := db.WithContext(ctx).Create(&r).Error; err != nil {
				return nil, err
			}
			rows = append(rows, r)
			id = r.ID
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// TeamID finds the team a flow or an old client names, by id or by name
// (case-insensitively); "" when there is none.
func (s *Service) TeamID(ctx context.Context, tenantID, ref string) (string, error) {
	if ref == "" || !kefu.CleanText(ref) {
		return "", nil
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return "", err
	}
	var ids []string
	if err := db.WithContext(ctx).Model(&teamRow{}).Where("id = ? OR lower(name) = lower(?)", ref, ref).Order("id").Limit(1).Pluck("id", &ids).Error; err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}
