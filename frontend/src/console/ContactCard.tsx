import { useState } from 'react';
import { Button, Input, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type ContactInput } from '../api';
import { useToast } from '../components/Toast';
import { dateTime } from '../lib/format';

/**
 * The conversation's contact in the side panel: name, e-mail, phone and
 * notes, editable, and the contact's other conversations.
 */
export function ContactCard({ contactId, conversationId }: { contactId: string; conversationId: string }) {
  const { t, i18n } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const key = ['contact', contactId];
  const { data } = useQuery({
    queryKey: key,
    queryFn: () => api.contacts.get(contactId),
  });
  const [draft, setDraft] = useState<Required<Pick<ContactInput, 'name' | 'email' | 'phone' | 'notes'>> | null>(null);
  const [saving, setSaving] = useState(false);
  // Another contact: drop the edits of the previous one (during render, so
  // they never show against the wrong contact).
  const [shownContact, setShownContact] = useState(contactId);
  if (shownContact !== contactId) {
    setShownContact(contactId);
    setDraft(null);
  }
  if (!data) return null;
  const past = data.conversations.filter((c) => c.id !== conversationId);
  const save = async () => {
    if (!draft) return;
    setSaving(true);
    try {
      await api.contacts.update(contactId, draft);
      await qc.invalidateQueries({ queryKey: key });
      setDraft(null);
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    } finally {
      setSaving(false);
    }
  };
  return (
    <section data-testid="contact-card">
      <h3 className="visitor-section">{t('contact.title')}</h3>
      {draft ? (
        <div className="contact-form" data-testid="contact-form">
          {(['name', 'email', 'phone'] as const).map((f) => (
            <Input
              key={f}
              size="small"
              aria-label={t(`contact.${f}`)}
              placeholder={t(`contact.${f}`)}
              value={draft[f]}
              onChange={(e) => setDraft({ ...draft, [f]: e.target.value })}
              data-testid={`contact-${f}`}
              style={{ marginBottom: 6 }}
            />
          ))}
          <Input.TextArea
            aria-label={t('contact.notes')}
            placeholder={t('contact.notes')}
            value={draft.notes}
            autoSize={{ minRows: 2, maxRows: 6 }}
            onChange={(e) => setDraft({ ...draft, notes: e.target.value })}
            data-testid="contact-notes"
          />
          <div style={{ display: 'flex', gap: 8, marginTop: 6 }}>
            <Button size="small" type="primary" loading={saving} onClick={() => void save()} data-testid="contact-save">
              {t('contact.save')}
            </Button>
            <Button size="small" onClick={() => setDraft(null)}>
              {t('contact.cancel')}
            </Button>
          </div>
        </div>
      ) : (
        <div data-testid="contact-view">
          {data.phone ? <div data-testid="contact-phone-view">{data.phone}</div> : null}
          {data.notes ? (
            <div className="break-all" style={{ whiteSpace: 'pre-wrap' }} data-testid="contact-notes-view">
              {data.notes}
            </div>
          ) : null}
          <Button
            size="small"
            onClick={() =>
              setDraft({
                name: data.name,
                email: data.email,
                phone: data.phone,
                notes: data.notes,
              })
            }
            data-testid="contact-edit"
          >
            {t('contact.edit')}
          </Button>
        </div>
      )}
      <h3 className="visitor-section">{t('contact.past', { count: past.length })}</h3>
      {past.length === 0 ? (
        <div className="muted">{t('contact.noPast')}</div>
      ) : (
        <ul className="contact-past" data-testid="contact-past">
          {past.map((c) => (
            <li key={c.id}>
              <Link to={`/app/conversations/${c.id}`} className="break-all">
                {c.last_visitor_message?.body || c.last_message?.body || c.id}
              </Link>{' '}
              <Tag>{t(`inbox.status_${c.status}`)}</Tag>
              <span className="muted">{dateTime(c.created_at, i18n.language)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
