import { Suspense, lazy, useCallback, type MouseEvent } from 'react';
import { PaperClipOutlined } from '@ant-design/icons';
import { attachmentHref, formatSize, isImage, linkExpired, type Attachment } from '../api';
import { useRefreshMessages } from './useThread';

const ImageThumbs = lazy(() => import('./ImageThumbs'));

/**
 * A message's files: images as thumbnails (click to preview), other files as
 * download links with their size. Links expire; the thread refreshes them
 * ahead of time, and a link found expired anyway (an image that fails to
 * load, a click) fetches the thread again for a fresh one.
 */
export function Attachments({ list, conversationId }: { list: readonly Attachment[]; conversationId: string }) {
  const refresh = useRefreshMessages(conversationId);
  const onImageError = useCallback(
    (a: Attachment) => {
      if (linkExpired(a.url)) void refresh();
    },
    [refresh],
  );
  const openFile = (e: MouseEvent<HTMLAnchorElement>, a: Attachment) => {
    if (!linkExpired(a.url)) return;
    e.preventDefault();
    void refresh().then((msgs) => {
      const fresh = msgs?.flatMap((m) => m.attachments ?? []).find((x) => x.id === a.id && !linkExpired(x.url));
      if (fresh) window.open(attachmentHref(fresh.url), '_blank', 'noopener,noreferrer');
    });
  };
  const images = list.filter((a) => isImage(a));
  const files = list.filter((a) => !isImage(a));
  return (
    <div className="msg-attachments" data-testid="message-attachments">
      {images.length ? (
        <div className="msg-images">
          {/* Until the preview code arrives, the same thumbnails as plain images. */}
          <Suspense
            fallback={images.map((a) => (
              <div key={a.id} className="ant-image">
                <img className="ant-image-img" src={attachmentHref(a.url)} alt={a.name} title={a.name} onError={() => onImageError(a)} />
              </div>
            ))}
          >
            <ImageThumbs images={images} onError={onImageError} />
          </Suspense>
        </div>
      ) : null}
      {files.map((a) => (
        <a
          key={a.id}
          className="msg-file"
          href={attachmentHref(a.url)}
          target="_blank"
          rel="noopener noreferrer"
          download={a.name}
          title={a.name}
          data-testid="attachment-file"
          onClick={(e) => openFile(e, a)}
        >
          <PaperClipOutlined />
          <span className="msg-file-name">{a.name}</span>
          <span className="msg-file-size">{formatSize(a.size)}</span>
        </a>
      ))}
    </div>
  );
}
