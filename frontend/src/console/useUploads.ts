import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, MAX_ATTACHMENTS, MAX_UPLOAD_BYTES, api, errorMessage, isImage, type Attachment } from '../api';

export interface PendingUpload {
  key: string;
  file: File;
  /** A blob: URL for image previews, else "". */
  preview: string;
  status: 'uploading' | 'done' | 'error';
  attachment?: Attachment;
  error?: string;
}

let seq = 0;

/**
 * The composer's tray of files: each one starts uploading as soon as it is
 * added; `ready` are the stored ones to send with the next message.
 */
export function useUploads() {
  const { t } = useTranslation();
  const [items, setItems] = useState<PendingUpload[]>([]);
  // The latest tray for the callbacks below (kept stable so the composer's
  // effects do not re-run on every change), updated once React commits it.
  const live = useRef(items);
  useEffect(() => {
    live.current = items;
  }, [items]);

  const update = useCallback((key: string, patch: Partial<PendingUpload>) => {
    setItems((cur) => cur.map((it) => (it.key === key ? { ...it, ...patch } : it)));
  }, []);

  /** Adds files; returns an error to show when some were refused (too many, too large). */
  const add = useCallback(
    (files: readonly File[]): string | null => {
      let refused: string | null = null;
      const room = MAX_ATTACHMENTS - live.current.length;
      if (files.length > room) refused = t('thread.tooManyFiles', { n: MAX_ATTACHMENTS });
      const added: PendingUpload[] = [];
      for (const file of files.slice(0, Math.max(0, room))) {
        if (file.size > MAX_UPLOAD_BYTES) {
          refused = t('thread.fileTooLarge', { name: file.name });
          continue;
        }
        const preview = isImage({ content_type: file.type }) && typeof URL.createObjectURL === 'function' ? URL.createObjectURL(file) : '';
        added.push({ key: `u${++seq}`, file, preview, status: 'uploading' });
      }
      if (!added.length) return refused;
      setItems((cur) => [...cur, ...added]);
      for (const it of added) {
        api.uploads.create(it.file, it.file.name).then(
          (attachment) => update(it.key, { status: 'done', attachment }),
          (err: unknown) =>
            update(it.key, {
              status: 'error',
              error: err instanceof ApiError && err.code === 'too_large' ? t('thread.fileTooLarge', { name: it.file.name }) : errorMessage(err, t('thread.uploadFailed')),
            }),
        );
      }
      return refused;
    },
    [t, update],
  );

  const remove = useCallback((key: string) => {
    setItems((cur) => {
      const it = cur.find((x) => x.key === key);
      if (it?.preview) URL.revokeObjectURL(it.preview);
      return cur.filter((x) => x.key !== key);
    });
  }, []);

  const clear = useCallback(() => {
    for (const it of live.current) if (it.preview) URL.revokeObjectURL(it.preview);
    setItems([]);
  }, []);

  // Previews are freed when the composer goes away.
  useEffect(
    () => () => {
      for (const it of live.current) if (it.preview) URL.revokeObjectURL(it.preview);
    },
    [],
  );

  return {
    items,
    add,
    remove,
    clear,
    busy: items.some((it) => it.status === 'uploading'),
    ready: items.flatMap((it) => (it.status === 'done' && it.attachment ? [it.attachment] : [])),
  };
}
