import { useState } from 'react';
import { Button, Input, Tag } from 'antd';
import { ClockCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { errorMessage, PRIORITIES, type Conversation, type Priority } from '../api';
import { useToast } from '../components/Toast';
import { dateTime } from '../lib/format';
import { isSnoozed } from '../realtime/cache';
import { patchConversation } from './actions';

/** When each snooze choice ends, from now (local time for "tomorrow" and "next week"). */
export function snoozeUntil(choice: 'm1' | 'h1' | 'h4' | 'tomorrow' | 'week', now = new Date()): Date {
  const d = new Date(now);
  switch (choice) {
    case 'm1':
      return new Date(now.getTime() + 60_000);
    case 'h1':
      return new Date(now.getTime() + 3600_000);
    case 'h4':
      return new Date(now.getTime() + 4 * 3600_000);
    case 'tomorrow':
      d.setDate(d.getDate() + 1);
      d.setHours(9, 0, 0, 0);
      return d;
    case 'week':
      d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7));
      d.setHours(9, 0, 0, 0);
      return d;
  }
}

/** Labels, priority and snooze of a conversation, in the side panel. */
export function Triage({ c }: { c: Conversation }) {
  const { t, i18n } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const [adding, setAdding] = useState(false);
  const [label, setLabel] = useState('');
  const labels = c.labels ?? [];
  const snoozed = isSnoozed(c);

  async function save(p: Parameters<typeof patchConversation>[1], ok?: string) {
    try {
      await patchConversation(c.id, p, qc);
      if (ok) toast.success(ok);
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  function addLabel() {
    const l = label.trim();
    setLabel('');
    setAdding(false);
    if (!l || labels.includes(l)) return;
    void save({ labels: [...labels, l] });
  }

  return (
    <div className="triage" data-testid="triage">
      <h3 className="visitor-section">{t('console.priority')}</h3>
      <select
        className="native-select"
        value={c.priority ?? 'none'}
        onChange={(e) => void save({ priority: e.target.value as Priority })}
        aria-label={t('console.priority')}
        data-testid="priority-select"
      >
        {PRIORITIES.map((p) => (
          <option key={p} value={p}>
            {t(`console.priority_${p}`)}
          </option>
        ))}
      </select>
      <h3 className="visitor-section">{t('visitor.labels')}</h3>
      <div className="visitor-labels" data-testid="conversation-labels">
        {labels.map((l) => (
          <Tag
            key={l}
            closable
            color="geekblue"
            onClose={(e) => {
              e.preventDefault();
              void save({ labels: labels.filter((x) => x !== l) });
            }}
            data-testid="conversation-label"
          >
            {l}
          </Tag>
        ))}
        {adding ? (
          <Input
            size="small"
            autoFocus
            value={label}
            maxLength={50}
            onChange={(e) => setLabel(e.target.value)}
            onPressEnter={addLabel}
            onBlur={addLabel}
            aria-label={t('console.addLabel')}
            style={{ width: 120 }}
            data-testid="label-input"
          />
        ) : (
          <Tag className="label-add" onClick={() => setAdding(true)} icon={<PlusOutlined />} data-testid="label-add" role="button" tabIndex={0}>
            {t('console.addLabel')}
          </Tag>
        )}
      </div>
      <h3 className="visitor-section">{t('console.snooze')}</h3>
      {snoozed ? (
        <div className="snoozed-line" data-testid="snoozed-line">
          <ClockCircleOutlined /> {t('console.snoozedUntil', { time: dateTime(c.snoozed_until, i18n.language) })}{' '}
          <Button size="small" type="link" onClick={() => void save({ snoozed_until: null })} data-testid="unsnooze">
            {t('console.unsnooze')}
          </Button>
        </div>
      ) : (
        <select
          className="native-select"
          value=""
          aria-label={t('console.snoozeFor')}
          onChange={(e) => {
            if (!e.target.value) return;
            const until = snoozeUntil(e.target.value as 'm1');
            void save({ snoozed_until: until.toISOString() }, t('console.snoozedOk', { time: dateTime(until.toISOString(), i18n.language) }));
          }}
          data-testid="snooze"
        >
          <option value="">{t('console.snoozeFor')}</option>
          <option value="m1">{t('console.snoozeMinute')}</option>
          <option value="h1">{t('console.snooze1h')}</option>
          <option value="h4">{t('console.snooze4h')}</option>
          <option value="tomorrow">{t('console.snoozeTomorrow')}</option>
          <option value="week">{t('console.snoozeNextWeek')}</option>
        </select>
      )}
    </div>
  );
}
