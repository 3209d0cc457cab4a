import { useEffect, useRef, useState, type ClipboardEvent, type DragEvent, type KeyboardEvent } from 'react';
import { Button, Input, Tooltip } from 'antd';
import { useToast } from '../components/Toast';
import { BulbOutlined, CloseOutlined, FileOutlined, LoadingOutlined, LockOutlined, PaperClipOutlined, SendOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, formatSize, type Conversation, type User } from '../api';
import { useRealtime } from '../stores/realtime';
import { MAX_BODY, useSend } from './useSend';
import { resolveConversation } from './actions';
import { useUploads, type PendingUpload } from './useUploads';

/** Unsent text per conversation, kept while the agent moves between conversations. */
const drafts = new Map<string, string>();

export function Composer({ conversation, me }: { conversation: Conversation; me: User }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const id = conversation.id;
  const [text, setText] = useState(() => drafts.get(id) ?? '');
  const [note, setNote] = useState(false);
  const send = useSend(id, me);
  const typingSentAt = useRef(0);
  const typingOff = useRef<ReturnType<typeof setTimeout> | null>(null);
  const ref = useRef<HTMLTextAreaElement | null>(null);
  const fileRef = useRef<HTMLInputElement | null>(null);
  const uploads = useUploads();
  const { clear: clearUploads } = uploads;
  const [dragging, setDragging] = useState(false);
  const [suggesting, setSuggesting] = useState(false);

  /** Drafts a reply from the tenant's knowledge into the composer; the agent sends it (or not). */
  async function suggest() {
    setSuggesting(true);
    try {
      const s = await api.conversations.suggest(id);
      if (s.source === 'none' || !s.text) {
        message.info(t('thread.suggestNone'));
        return;
      }
      const next = text.trim() ? `${text.trimEnd()}\n${s.text}` : s.text;
      setText(next);
      drafts.set(id, next);
      setNote(false);
      ref.current?.focus();
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    } finally {
      setSuggesting(false);
    }
  }

  useEffect(() => {
    setText(drafts.get(id) ?? '');
    setNote(false);
    clearUploads();
    ref.current?.focus();
  }, [id, clearUploads]);

  function attach(files: readonly File[]) {
    if (!files.length) return;
    const refused = uploads.add(files);
    if (refused) message.error(refused);
    ref.current?.focus();
  }

  function hasFiles(e: DragEvent) {
    return [...(e.dataTransfer?.types ?? [])].includes('Files');
  }

  function onDragOver(e: DragEvent<HTMLDivElement>) {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    if (!dragging) setDragging(true);
  }

  function onDragLeave(e: DragEvent<HTMLDivElement>) {
    if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
  }

  function onDrop(e: DragEvent<HTMLDivElement>) {
    setDragging(false);
    const files = [...(e.dataTransfer?.files ?? [])];
    if (!files.length) return;
    e.preventDefault();
    attach(files);
  }

  function onPaste(e: ClipboardEvent<HTMLTextAreaElement>) {
    const files = [...(e.clipboardData?.files ?? [])];
    if (!files.length) return;
    e.preventDefault();
    attach(files);
  }

  useEffect(
    () => () => {
      if (typingOff.current) clearTimeout(typingOff.current);
    },
    [],
  );

  function change(v: string) {
    setText(v);
    drafts.set(id, v);
    // Typing indicators are for replies only: a note must not hint anything to the visitor.
    if (note) return;
    const client = useRealtime.getState().client;
    if (!client) return;
    const now = Date.now();
    if (now - typingSentAt.current > 3000) {
      typingSentAt.current = now;
      client.typing(id, true);
    }
    if (typingOff.current) clearTimeout(typingOff.current);
    typingOff.current = setTimeout(() => {
      typingSentAt.current = 0;
      client.typing(id, false);
    }, 4000);
  }

  function submit() {
    const body = text.trim();
    const files = uploads.ready;
    if (!body && !files.length) {
      if (uploads.busy) message.info(t('thread.uploadWait'));
      return;
    }
    if (uploads.busy) {
      message.info(t('thread.uploadWait'));
      return;
    }
    if (body.length > MAX_BODY) {
      message.error(t('thread.tooLong'));
      return;
    }
    send(body, note, undefined, files);
    uploads.clear();
    setText('');
    drafts.delete(id);
    if (typingOff.current) clearTimeout(typingOff.current);
    if (typingSentAt.current) {
      typingSentAt.current = 0;
      useRealtime.getState().client?.typing(id, false);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key !== 'Enter' || e.nativeEvent.isComposing || e.keyCode === 229) return;
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      if (conversation.status !== 'resolved')
        resolveConversation(id, qc).then(
          () => message.success(t('thread.resolvedOk')),
          (err: unknown) => message.error(errorMessage(err, t('app.error'))),
        );
      return;
    }
    if (e.shiftKey || e.altKey) return;
    e.preventDefault();
    submit();
  }

  return (
    <div
      className={`composer ${note ? 'composer-note' : ''} ${dragging ? 'composer-dragging' : ''}`}
      data-testid="composer"
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      {dragging ? (
        <div className="composer-drop" aria-hidden>
          <PaperClipOutlined /> {t('thread.dropHere')}
        </div>
      ) : null}
      {conversation.status === 'resolved' ? <div className="composer-hint">{t('thread.readOnlyResolved')}</div> : null}
      {uploads.items.length ? (
        <div className="composer-files" data-testid="composer-files">
          {uploads.items.map((it) => (
            <PendingFile key={it.key} it={it} onRemove={() => uploads.remove(it.key)} />
          ))}
        </div>
      ) : null}
      <Input.TextArea
        ref={(el) => {
          ref.current = el?.resizableTextArea?.textArea ?? null;
        }}
        value={text}
        onChange={(e) => change(e.target.value)}
        onKeyDown={onKeyDown}
        onPaste={onPaste}
        placeholder={note ? t('thread.notePlaceholder') : t('thread.composerPlaceholder')}
        autoSize={{ minRows: 2, maxRows: 8 }}
        variant="borderless"
        aria-label={note ? t('thread.notePlaceholder') : t('thread.composerPlaceholder')}
        data-testid="composer-input"
      />
      <div className="composer-bar">
        <Tooltip title={t('thread.noteTooltip')}>
          <Button
            size="small"
            type={note ? 'primary' : 'text'}
            className={note ? 'note-on' : ''}
            icon={<LockOutlined />}
            aria-pressed={note}
            onClick={() => setNote(!note)}
            data-testid="composer-note"
          >
            {t('thread.note')}
          </Button>
        </Tooltip>
        <Tooltip title={t('thread.attach')}>
          <Button size="small" type="text" icon={<PaperClipOutlined />} aria-label={t('thread.attach')} onClick={() => fileRef.current?.click()} data-testid="composer-attach" />
        </Tooltip>
        <input
          ref={fileRef}
          type="file"
          multiple
          hidden
          tabIndex={-1}
          onChange={(e) => {
            attach([...(e.target.files ?? [])]);
            e.target.value = '';
          }}
          data-testid="composer-file"
        />
        {conversation.status !== 'resolved' ? (
          <Tooltip title={t('thread.suggestTooltip')}>
            <Button size="small" type="text" icon={<BulbOutlined />} loading={suggesting} onClick={suggest} data-testid="composer-suggest">
              {t('thread.suggest')}
            </Button>
          </Tooltip>
        ) : null}
        <span className="composer-spacer" />
        <Button
          type="primary"
          icon={<SendOutlined />}
          onClick={submit}
          disabled={(!text.trim() && !uploads.ready.length) || uploads.busy}
          data-testid="composer-send"
        >
          {t('thread.send')}
        </Button>
      </div>
    </div>
  );
}

function PendingFile({ it, onRemove }: { it: PendingUpload; onRemove: () => void }) {
  const { t } = useTranslation();
  const name = it.file.name;
  return (
    <div className={`composer-file composer-file-${it.status}`} data-testid="composer-file-item" data-status={it.status} title={it.error ?? name}>
      {it.preview ? <img className="composer-thumb" src={it.preview} alt="" /> : <FileOutlined className="composer-file-icon" />}
      <span className="composer-file-text">
        <span className="composer-file-name">{name}</span>
        <span className="composer-file-sub">
          {it.status === 'uploading' ? (
            <>
              <LoadingOutlined /> {t('thread.uploading')}
            </>
          ) : it.status === 'error' ? (
            it.error
          ) : (
            formatSize(it.file.size)
          )}
        </span>
      </span>
      <Button size="small" type="text" icon={<CloseOutlined />} aria-label={t('thread.removeAttachment', { name })} onClick={onRemove} />
    </div>
  );
}
