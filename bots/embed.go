package bots

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

type embeddingRow struct {
	FAQID  string `gorm:"primaryKey;column:faq_id"`
	Model  string `gorm:"primaryKey"`
	Hash   string
	Vector string
}

func (embeddingRow) TableName(n schema.Namer) string { return n.TableName("faq_embedding") }

// embedTimeout bounds the embeddings a match waits for: past it, the match
// keeps the lexical order.
const embedTimeout = 1500 * time.Millisecond

// rerank reorders the candidates by the embeddings of the question and the
// entries when the tenant's provider serves them (an embedding model is
// set). Only candidates near the threshold by words are considered, so an
// embedding can choose between entries the words found, not answer what the
// words did not find. Entry vectors are cached per entry and model, in
// memory and in the tenant's database, and made again when the entry's
// text changes. Any failure leaves the order as it was.
func (s *Service) rerank(ctx context.Context, tenantID, question string, ms []Match, threshold float64) []Match {
	if len(ms) < 1 {
		return ms
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil || st.LLM.EmbeddingModel == "" || !st.LLM.Configured() {
		return ms
	}
	p, _, err := s.provider(tenantID, st)
	if err != nil {
		return ms
	}
	emb, ok := p.(Embedder)
	if !ok {
		return ms
	}
	var cands []int
	for i, m := range ms {
		if m.Score >= 0.6*threshold {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return ms
	}
	ctx, cancel := context.WithTimeout(ctx, embedTimeout)
	defer cancel()
	model := st.LLM.EmbeddingModel
	qv, err := emb.Embed(ctx, model, []string{question})
	if err != nil || len(qv) != 1 {
		s.log.Debug("bots: embed question", "tenant_id", tenantID, "err", err)
		return ms
	}
	entries := make([]Entry, len(cands))
	for i, c := range cands {
		entries[i] = ms[c].Entry
	}
	vecs, err := s.entryVectors(ctx, tenantID, emb, model, entries)
	if err != nil {
		s.log.Debug("bots: embed entries", "tenant_id", tenantID, "err", err)
		return ms
	}
	type scored struct {
		m     Match
		blend float64
	}
	out := make([]scored, 0, len(cands))
	for i, c := range cands {
		m := ms[c]
		cos := cosine(qv[0], vecs[i])
		// The blend keeps the words' say: a candidate the words rank low
		// needs a much closer meaning to move up.
		out = append(out, scored{m: m, blend: 0.4*m.Score + 0.6*max(cos, 0)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].blend > out[j].blend })
	res := make([]Match, 0, len(ms))
	for _, o := range out {
		m := o.m
		m.Score = round3(max(m.Score, min(o.blend, 1)))
		res = append(res, m)
	}
	for i, m := range ms {
		if m.Score < 0.6*threshold {
			res = append(res, ms[i])
		}
	}
	return res
}

func entryText(e Entry) string {
	return e.Question + "\n" + strings.Join(e.Alternates, "\n")
}

func hashText(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:12])
}

// entryVectors returns the entries' vectors: from memory, then the
// database, and the rest from the provider (stored for next time).
func (s *Service) entryVectors(ctx context.Context, tenantID string, emb Embedder, model string, entries []Entry) ([][]float32, error) {
	out := make([][]float32, len(entries))
	hashes := make([]string, len(entries))
	var missing []int
	for i, e := range entries {
		hashes[i] = hashText(entryText(e))
		if v, ok := s.embeds.Get(tenantID + "/" + model + "/" + hashes[i]); ok {
			out[i] = v
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(missing))
	for j, i := range missing {
		ids[j] = entries[i].ID
	}
	var rows []embeddingRow
	if err := db.WithContext(ctx).Where("model = ? AND faq_id IN ?", model, ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	stored := map[string]embeddingRow{}
	for _, r := range rows {
		stored[r.FAQID] = r
	}
	var texts []string
	var need []int
	for _, i := range missing {
		if r, ok := stored[entries[i].ID]; ok && r.Hash == hashes[i] {
			var v []float32
			if json.Unmarshal([]byte(r.Vector), &v) == nil {
				out[i] = v
				s.embeds.Add(tenantID+"/"+model+"/"+hashes[i], v)
				continue
			}
		}
		texts = append(texts, entryText(entries[i]))
		need = append(need, i)
	}
	if len(need) == 0 {
		return out, nil
	}
	vecs, err := emb.Embed(ctx, model, texts)
	if err != nil {
		return nil, err
	}
	for j, i := range need {
		out[i] = vecs[j]
		s.embeds.Add(tenantID+"/"+model+"/"+hashes[i], vecs[j])
		b, _ := json.Marshal(vecs[j])
		db.WithContext(context.WithoutCancel(ctx)).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "faq_id"}, {Name: "model"}}, DoUpdates: clause.AssignmentColumns([]string{"hash", "vector"})}).
			Create(&embeddingRow{FAQID: entries[i].ID, Model: model, Hash: hashes[i], Vector: string(b)})
	}
	return out, nil
}

func cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}
