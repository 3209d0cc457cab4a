import { memo, useId, useState } from 'react';
import { BranchesOutlined, DownOutlined, RightOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import type { ConversationEvent } from '../api';
import en from '../i18n/en';
import { clockTime, dateTime } from '../lib/format';
import { eventWord, outcomeWord, routingSummary } from './routing';

type NodeTypeKey = keyof typeof en.flows.types;
const isKnownType = (t: string): t is NodeTypeKey => Object.prototype.hasOwnProperty.call(en.flows.types, t);

/**
 * One run of the routing flow in the thread: a muted centred line with the
 * path it took and what it decided; pressing it lists every step.
 */
export const RoutingEventLine = memo(function RoutingEventLine({ event }: { event: ConversationEvent }) {
  const { t, i18n } = useTranslation();
  const [open, setOpen] = useState(false);
  const traceId = useId();
  const d = event.detail;
  const summary = routingSummary(d, t);
  const trace = d.trace ?? [];
  return (
    <div className={`routing-event ${open ? 'open' : ''}`} data-testid="routing-event" data-action={d.action} data-event-id={event.id}>
      <button
        type="button"
        className="routing-line"
        aria-expanded={open}
        aria-controls={open ? traceId : undefined}
        title={open ? undefined : t('thread.routing.showTrace')}
        onClick={() => setOpen(!open)}
        data-testid="routing-event-line"
      >
        <BranchesOutlined className="routing-icon" aria-hidden />
        <span className="routing-summary" data-testid="routing-summary">
          {summary}
        </span>
        <time className="msg-system-time" dateTime={event.created_at} title={dateTime(event.created_at, i18n.language)}>
          {clockTime(event.created_at, i18n.language)}
        </time>
        {open ? <DownOutlined className="routing-caret" aria-hidden /> : <RightOutlined className="routing-caret" aria-hidden />}
      </button>
      {open ? (
        <div className="routing-trace" id={traceId} data-testid="routing-trace">
          <div className="routing-trace-meta">
            {d.event ? t('thread.routing.ranOn', { event: eventWord(d.event, t) }) : null}
            {d.action === 'queue' && d.waiting ? ` · ${t('thread.routing.waitingAt', { node: d.waiting })}` : null}
          </div>
          {trace.length === 0 ? (
            <div className="muted">{t('thread.routing.noSteps')}</div>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('thread.routing.node')}</th>
                  <th scope="col">{t('thread.routing.type')}</th>
                  <th scope="col">{t('thread.routing.outcome')}</th>
                  <th scope="col">{t('thread.routing.detail')}</th>
                </tr>
              </thead>
              <tbody>
                {trace.map((s, i) => (
                  <tr key={i} data-testid="routing-trace-step" data-node={s.node}>
                    <td className="routing-mono">{s.node || <span className="muted">{t('thread.routing.note')}</span>}</td>
                    <td className="routing-type">{isKnownType(s.type) ? t(`flows.types.${s.type}.label`) : s.type}</td>
                    <td>{s.outcome && s.outcome !== 'next' ? outcomeWord(s.outcome, t) : ''}</td>
                    <td className="routing-detail">{s.detail}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ) : null}
    </div>
  );
});
