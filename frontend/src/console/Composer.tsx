import { useEffect, useRef, useState, type ClipboardEvent, type DragEvent, type KeyboardEvent } from 'react';
import { Button, Input, Tooltip } from 'antd';
import { useToast } from '../components/Toast';
import { BulbOutlined, CloseOutlined, FileOutlined, LoadingOutlined, LockOutlined, PaperClipOutlined, SendOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import { api, errorMessage, formatSize, type CannedReply, type Conversation, type User } from '../api';
import { keys } from '../realtime/keys';
import { visitorName } from '../lib/format';
import { fillVariables, filterCanned, slashQuery } from './canned';
import { useRealtime } from '../stores/realtime';
import { MAX_BODY, useSend } from './useSend';
import { useUploads, type PendingUpload } from './useUploads';

/** Unsent text per conversation, kept while the agent moves between conversations. */
const drafts = new Map<string, string>();

export function Composer({ conversation, me }: { conversation: Conversation; me: User }) {
  const { t } = useTranslation();
  const message = useToast();
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
  const [slash, setSlash] = useState<{ start: number; query: string } | null>(null);
  // Loaded when "/" is first typed, then kept for a minute.
  const canned = useQuery({ queryKey: keys.canned, queryFn: api.cannedReplies.list, staleTime: 60_000, retry: false, enabled: slash !== null });
  const [pick, setPick] = useState(0);
  const matches = slash ? filterCanned(canned.data ?? [], slash.query) : [];

  // Alt+N switches between reply and note from anywhere in the thread.
  useEffect(() => {
    function onKey(e: globalThis.KeyboardEvent) {
      if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === 'n' || e.key === 'N' || e.code === 'KeyN')) {
        e.preventDefault();
        setNote((n) => !n);
        ref.current?.focus();
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  function applyCanned(r: CannedReply) {
    if (!slash) return;
    const filled = fillVariables(
      r.body,
      { visitor: conversation.visitor, agent: { name: me.name }, conversationId: id },
      { visitor: visitorName(conversation.visitor, (x) => t('inbox.visitor', { id: x })) },
    );
    const el = ref.current;
    const caret = el?.selectionStart ?? text.length;
    const next = text.slice(0, slash.start) + filled + text.slice(caret);
    setSlash(null);
    change(next);
    const at = slash.start + filled.length;
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at, at);
    });
  }

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

  // Another conversation: its own draft, a reply again (state adjusted during
  // render, not in an effect, so the old conversation's text never shows).
  const [shownId, setShownId] = useState(id);
  if (shownId !== id) {
    setShownId(id);
    setText(drafts.get(id) ?? '');
    setNote(false);
  }
  useEffect(() => {
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

  function change(v: string, caret?: number) {
    setText(v);
    drafts.set(id, v);
    const sq = caret === undefined ? null : slashQuery(v, caret);
    setSlash(sq);
    if (sq) setPick(0);
    // Typing indicators are for replies only: a note must not hint anything to the visitor.
    if (note) return;
    const client = useRealtime.getState().client;
    if (!client) return;
    // An event handler, never called during render (the compiler cannot tell).
    // eslint-disable-next-line react-hooks/purity
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
    setSlash(null);
    drafts.delete(id);
    // A note is one-shot: the next message is a reply again, and the agent is told.
    if (note) {
      setNote(false);
      message.info(t('console.noteSent'));
    }
    if (typingOff.current) clearTimeout(typingOff.current);
    if (typingSentAt.current) {
      typingSentAt.current = 0;
      useRealtime.getState().client?.typing(id, false);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (slash && matches.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setPick((p) => (p + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length);
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && !e.nativeEvent.isComposing) {
        e.preventDefault();
        applyCanned(matches[Math.min(pick, matches.length - 1)]!);
        return;
      }
    }
    if (slash && e.key === 'Escape') {
      e.preventDefault();
      setSlash(null);
      return;
    }
    if (e.key !== 'Enter' || e.nativeEvent.isComposing || e.keyCode === 229) return;
    // Enter and Ctrl/Cmd+Enter both send: a send-like chord never does anything destructive.
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
      <div className="composer-modes">
        <div className="composer-tabs" role="tablist" aria-label={t('console.noteTab')}>
          <button
            type="button"
            role="tab"
            aria-selected={!note}
            className={`composer-tab ${!note ? 'on' : ''}`}
            onClick={() => {
              setNote(false);
              ref.current?.focus();
            }}
            data-testid="composer-mode-reply"
          >
            {t('console.reply')}
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={note}
            className={`composer-tab note ${note ? 'on' : ''}`}
            onClick={() => {
              setNote(true);
              ref.current?.focus();
            }}
            data-testid="composer-mode-note"
          >
            <LockOutlined /> {t('console.noteTab')}
          </button>
        </div>
        {note ? (
          <span className="composer-note-hint" data-testid="composer-note-hint">
            {t('console.noteOnce')}
          </span>
        ) : (
          <span className="composer-hint-inline muted">{t('console.cannedHint')}</span>
        )}
      </div>
      {slash ? (
        <div className="canned-menu" role="listbox" aria-label={t('console.cannedTitle')} data-testid="canned-menu">
          <div className="canned-title">{t('console.cannedTitle')}</div>
          {matches.length === 0 ? (
            <div className="canned-empty">{t('console.cannedEmpty')}</div>
          ) : (
            matches.map((r, i) => (
              <div
                key={r.id}
                role="option"
                aria-selected={i === pick}
                className={`canned-item ${i === pick ? 'active' : ''}`}
                onMouseDown={(e) => {
                  e.preventDefault();
                  applyCanned(r);
                }}
                data-testid="canned-item"
              >
                <span className="canned-shortcut">/{r.shortcut}</span>
                <span className="canned-body">{r.body}</span>
              </div>
            ))
          )}
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
        onChange={(e) => change(e.target.value, e.target.selectionStart ?? e.target.value.length)}
        onKeyDown={onKeyDown}
        onPaste={onPaste}
        placeholder={note ? t('thread.notePlaceholder') : t('thread.composerPlaceholder')}
        autoSize={{ minRows: 2, maxRows: 8 }}
        variant="borderless"
        aria-label={note ? t('thread.notePlaceholder') : t('thread.composerPlaceholder')}
        data-testid="composer-input"
      />
      <div className="composer-bar">
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
        <Button type="primary" icon={<SendOutlined />} onClick={submit} disabled={(!text.trim() && !uploads.ready.length) || uploads.busy} data-testid="composer-send">
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
