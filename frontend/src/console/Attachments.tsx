import { Suspense, lazy } from 'react';
import { PaperClipOutlined } from '@ant-design/icons';
import { attachmentHref, formatSize, isImage, type Attachment } from '../api';

const ImageThumbs = lazy(() => import('./ImageThumbs'));

/** A message's files: images as thumbnails (click to preview), other files as download links with their size. */
export function Attachments({ list }: { list: readonly Attachment[] }) {
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
                <img className="ant-image-img" src={attachmentHref(a.url)} alt={a.name} title={a.name} />
              </div>
            ))}
          >
            <ImageThumbs images={images} />
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
        >
          <PaperClipOutlined />
          <span className="msg-file-name">{a.name}</span>
          <span className="msg-file-size">{formatSize(a.size)}</span>
        </a>
      ))}
    </div>
  );
}
