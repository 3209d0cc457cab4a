import { Avatar, Descriptions, Empty, Rate } from 'antd';
import { Triage } from './Triage';
import { ContactCard } from './ContactCard';
import { useTranslation } from 'react-i18next';
import type { Conversation } from '../api';
import { colorFor, dateTime, visitorName } from '../lib/format';
import { useUi } from '../stores/ui';

const KNOWN = ['page_url', 'referrer', 'language'] as const;

function show(v: unknown): string {
  if (v == null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The right-hand pane: who the visitor is and what we know about them. */
export function VisitorPanel({ c }: { c: Conversation | undefined }) {
  const { t, i18n } = useTranslation();
  const open = useUi((s) => s.detailsOpen);
  if (!c) return null;
  const v = c.visitor ?? { id: c.id };
  const name = visitorName(v, (id) => t('inbox.visitor', { id }));
  const attrs = Object.entries(v.attributes ?? {}).filter(([, val]) => val !== '' && val != null);
  const label = (k: string) => ((KNOWN as readonly string[]).includes(k) ? t(`visitor.${k as (typeof KNOWN)[number]}`) : k);
  return (
    <aside className={`visitor ${open ? 'open' : ''}`} aria-label={t('thread.details')} data-testid="visitor-panel">
      <div className="visitor-head">
        <Avatar size={48} style={{ background: colorFor(v.id) }}>
          {name.slice(0, 1).toUpperCase()}
        </Avatar>
        <div className="visitor-id">
          <strong data-testid="visitor-name">{name}</strong>
          {v.email ? (
            <a href={`mailto:${v.email}`} className="break-all">
              {v.email}
            </a>
          ) : (
            <span className="muted">{t('visitor.anonymous')}</span>
          )}
        </div>
      </div>
      <Descriptions
        size="small"
        column={1}
        layout="vertical"
        colon={false}
        items={[
          { key: 'started', label: t('visitor.started'), children: dateTime(c.created_at, i18n.language) },
          { key: 'conv', label: t('visitor.conversation'), children: <code className="break-all">{c.id}</code> },
          ...(c.csat
            ? [
                {
                  key: 'csat',
                  label: t('visitor.csat'),
                  children: (
                    <div data-testid="visitor-csat" data-score={c.csat.score}>
                      <Rate disabled value={c.csat.score} aria-label={t('visitor.csatScore', { score: c.csat.score })} />
                      {c.csat.comment ? <div className="break-all">{c.csat.comment}</div> : null}
                    </div>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Triage key={c.id} c={c} />
      {v.id && v.id !== c.id ? <ContactCard contactId={v.id} conversationId={c.id} /> : null}
      <h3 className="visitor-section">{t('visitor.attributes')}</h3>
      {attrs.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('visitor.noAttributes')} />
      ) : (
        <Descriptions
          size="small"
          column={1}
          layout="vertical"
          colon={false}
          data-testid="visitor-attributes"
          items={attrs.map(([k, val]) => {
            const s = show(val);
            const link = /^https?:\/\//.test(s);
            return {
              key: k,
              label: label(k),
              children: link ? (
                <a href={s} target="_blank" rel="noopener noreferrer" className="break-all">
                  {s}
                </a>
              ) : (
                <span className="break-all">{s}</span>
              ),
            };
          })}
        />
      )}
    </aside>
  );
}
