package chat

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"kefu"
	"kefu/routing"
	"kefu/tenants"
)

// Flow statuses: published when the latest version is the one routing,
// draft otherwise.
const (
	FlowDraft     = "draft"
	FlowPublished = "published"
)

// Flow is a routing flow at one version.
type Flow struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Version          int           `json:"version"`
	LatestVersion    int           `json:"latest_version"`
	PublishedVersion *int          `json:"published_version"`
	Status           string        `json:"status"`
	Active           bool          `json:"active"`
	Graph            routing.Graph `json:"graph"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
}

// FlowVersion is one saved version of a flow.
type FlowVersion struct {
	Version   int       `json:"version"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Published bool      `json:"published"`
}

const defaultFlowID = "default"

func flowOf(r flowRow, v flowVersionRow) (Flow, error) {
	f := Flow{ID: r.ID, Name: r.Name, Version: v.Version, LatestVersion: r.LatestVersion, PublishedVersion: r.PublishedVersion, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Status: FlowDraft}
	if r.PublishedVersion != nil && *r.PublishedVersion == r.LatestVersion {
		f.Status = FlowPublished
	}
	if err := json.Unmarshal([]byte(v.Graph), &f.Graph); err != nil {
		return f, err
	}
	if f.Graph.Nodes == nil {
		f.Graph.Nodes = []routing.Node{}
	}
	if f.Graph.Edges == nil {
		f.Graph.Edges = []routing.Edge{}
	}
	return f, nil
}

func checkFlowName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", kefu.Invalid(map[string]string{"name": "must be 1-100 characters"})
	}
	if p := kefu.TextProblem(name); p != "" {
		return "", kefu.Invalid(map[string]string{"name": p})
	}
	return name, nil
}

// defaultFlowName is the default flow's name in the workspace's language
// (it is shown in the flows list like any name an admin gave).
func defaultFlowName(lang string) string {
	if lang == "zh-CN" {
		return "默认流程"
	}
	return "Default"
}

// ensureDefaultFlow gives a tenant with no flow at all the default one,
// published and active. Racing callers insert it once.
func (s *Service) ensureDefaultFlow(ctx context.Context, tenantID string, db *tenants.DB) error {
	var n int64
	if err := db.WithContext(ctx).Model(&flowRow{}).Limit(1).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	t, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	g, _ := json.Marshal(routing.DefaultGraph(t.Language))
	now := s.stamp()
	one := 1
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&flowRow{ID: defaultFlowID, Name: defaultFlowName(t.Language), LatestVersion: 1, PublishedVersion: &one, Active: true, CreatedAt: now, UpdatedAt: now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return tx.Create(&flowVersionRow{FlowID: defaultFlowID, Version: 1, Graph: string(g), CreatedBy: "kefu", CreatedAt: now}).Error
	})
}

// Flows lists the tenant's flows at their latest versions.
func (s *Service) Flows(ctx context.Context, p tenants.Principal) ([]Flow, error) {
	db, err := s.db(p.TenantID)
	if err != nil {
		return nil, err
	}
	if err := s.ensureDefaultFlow(ctx, p.TenantID, db); err != nil {
		return nil, err
	}
	var rows []flowRow
	if err := db.WithContext(ctx).Order("created_at, id").Limit(500).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Flow, 0, len(rows))
	for _, r := range rows {
		f, err := s.flowAt(ctx, db, r, r.LatestVersion)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (s *Service) flowRow(ctx context.Context, db *tenants.DB, id string) (flowRow, error) {
	var r flowRow
	if !kefu.CleanText(id) {
		return r, kefu.Errorf(kefu.ENotFound, "no such flow")
	}
	err := db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, kefu.Errorf(kefu.ENotFound, "no such flow")
	}
	return r, err
}

func (s *Service) flowAt(ctx context.Context, db *tenants.DB, r flowRow, version int) (Flow, error) {
	var v flowVersionRow
	err := db.WithContext(ctx).Where("flow_id = ? AND version = ?", r.ID, version).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Flow{}, kefu.Errorf(kefu.ENotFound, "no such version of this flow")
	}
	if err != nil {
		return Flow{}, err
	}
	return flowOf(r, v)
}

// Flow returns a flow at a version (0: the latest).
func (s *Service) Flow(ctx context.Context, p tenants.Principal, id string, version int) (Flow, error) {
	db, r, version, err := s.flowVersion(ctx, p, id, version)
	if err != nil {
		return Flow{}, err
	}
	return s.flowAt(ctx, db, r, version)
}

// flowVersion finds one of the tenant's flows, and the version asked for
// (0: the latest).
func (s *Service) flowVersion(ctx context.Context, p tenants.Principal, id string, version int) (*tenants.DB, flowRow, int, error) {
	db, err := s.db(p.TenantID)
	if err != nil {
		return nil, flowRow{}, 0, err
	}
	if err := s.ensureDefaultFlow(ctx, p.TenantID, db); err != nil {
		return nil, flowRow{}, 0, err
	}
	r, err := s.flowRow(ctx, db, id)
	if err != nil {
		return nil, flowRow{}, 0, err
	}
	if version == 0 {
		version = r.LatestVersion
	}
	return db, r, version, nil
}

// CreateFlow saves a new flow as draft version 1. Errors: invalid_argument,
// invalid_flow (fields keyed by node id).
func (s *Service) CreateFlow(ctx context.Context, p tenants.Principal, name string, g routing.Graph) (Flow, error) {
	name, err := checkFlowName(name)
	if err != nil {
		return Flow{}, err
	}
	if _, err := routing.Compile(g); err != nil {
		return Flow{}, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Flow{}, err
	}
	if err := s.ensureDefaultFlow(ctx, p.TenantID, db); err != nil {
		return Flow{}, err
	}
	b, _ := json.Marshal(g)
	now := s.stamp()
	r := flowRow{ID: tenants.NewID(), Name: name, LatestVersion: 1, CreatedAt: now, UpdatedAt: now}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		return tx.Create(&flowVersionRow{FlowID: r.ID, Version: 1, Graph: string(b), CreatedBy: p.ID, CreatedAt: now}).Error
	})
	if err != nil {
		return Flow{}, err
	}
	return s.flowAt(ctx, db, r, 1)
}

// UpdateFlow saves a new draft version. Errors: not_found, invalid_argument,
// invalid_flow.
func (s *Service) UpdateFlow(ctx context.Context, p tenants.Principal, id, name string, g routing.Graph) (Flow, error) {
	name, err := checkFlowName(name)
	if err != nil {
		return Flow{}, err
	}
	if _, err := routing.Compile(g); err != nil {
		return Flow{}, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Flow{}, err
	}
	b, _ := json.Marshal(g)
	now := s.stamp()
	var r flowRow
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []flowRow
		if err := tx.Raw(`UPDATE `+db.Table("flows")+` SET latest_version = latest_version + 1, name = ?, updated_at = ? WHERE id = ? RETURNING *`, name, now, id).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return kefu.Errorf(kefu.ENotFound, "no such flow")
		}
		r = rows[0]
		return tx.Create(&flowVersionRow{FlowID: id, Version: r.LatestVersion, Graph: string(b), CreatedBy: p.ID, CreatedAt: now}).Error
	})
	if err != nil {
		return Flow{}, err
	}
	return s.flowAt(ctx, db, r, r.LatestVersion)
}

// PublishFlow makes version (0: the latest) of the flow the one that routes
// every new event, and the flow the tenant's active one. Publishing an
// earlier version is a rollback. Errors: not_found.
func (s *Service) PublishFlow(ctx context.Context, p tenants.Principal, id string, version int) (Flow, error) {
	db, r, version, err := s.flowVersion(ctx, p, id, version)
	if err != nil {
		return Flow{}, err
	}
	if version < 0 || version > r.LatestVersion {
		return Flow{}, kefu.Errorf(kefu.ENotFound, "no such version of this flow")
	}
	f, err := s.flowAt(ctx, db, r, version)
	if err != nil {
		return Flow{}, err
	}
	if _, err := routing.Compile(f.Graph); err != nil {
		return Flow{}, err // versions validated when saved; a newer engine may be stricter
	}
	now := s.stamp()
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&flowRow{}).Where("active = ? AND id <> ?", true, id).Update("active", false).Error; err != nil {
			return err
		}
		return tx.Model(&flowRow{}).Where("id = ?", id).Updates(map[string]any{"active": true, "published_version": version, "updated_at": now}).Error
	})
	if err != nil {
		return Flow{}, err
	}
	s.flowCache.Remove(p.TenantID)
	s.publish(ctx, Event{Kind: EventFlow, TenantID: p.TenantID})
	r, err = s.flowRow(ctx, db, id)
	if err != nil {
		return Flow{}, err
	}
	return s.flowAt(ctx, db, r, version)
}

// FlowVersions lists a flow's versions, newest first.
func (s *Service) FlowVersions(ctx context.Context, p tenants.Principal, id string) ([]FlowVersion, error) {
	db, err := s.db(p.TenantID)
	if err != nil {
		return nil, err
	}
	r, err := s.flowRow(ctx, db, id)
	if err != nil {
		return nil, err
	}
	var rows []flowVersionRow
	if err := db.WithContext(ctx).Select("flow_id", "version", "created_by", "created_at").Where("flow_id = ?", id).Order("version DESC").Limit(500).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]FlowVersion, len(rows))
	for i, v := range rows {
		out[i] = FlowVersion{Version: v.Version, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, Published: r.PublishedVersion != nil && *r.PublishedVersion == v.Version}
	}
	return out, nil
}

// activeFlow is a tenant's compiled published flow.
type activeFlow struct {
	flowID  string
	version int
	prog    *routing.Program
}

// active returns the tenant's published program, compiled once per version
// and cached; publishing (on any node, through the bus) drops the cache.
func (s *Service) active(ctx context.Context, tenantID string) (*activeFlow, error) {
	if a, ok := s.flowCache.Get(tenantID); ok {
		return a, nil
	}
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	if err := s.ensureDefaultFlow(ctx, tenantID, db); err != nil {
		return nil, err
	}
	var rows []flowRow
	if err := db.WithContext(ctx).Where("active = ?", true).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	a := &activeFlow{}
	if len(rows) == 0 || rows[0].PublishedVersion == nil {
		prog, err := routing.Compile(routing.DefaultGraph(tenants.LangEN))
		if err != nil {
			return nil, err
		}
		a.prog = prog
	} else {
		f, err := s.flowAt(ctx, db, rows[0], *rows[0].PublishedVersion)
		if err != nil {
			return nil, err
		}
		prog, err := routing.Compile(f.Graph)
		if err != nil {
			return nil, err
		}
		a.flowID, a.version, a.prog = f.ID, f.Version, prog
	}
	s.flowCache.Add(tenantID, a)
	return a, nil
}
