// antd's Image (thumbnail + preview) is loaded only when a thread shows an
// image: it would add ~13 KB gzip to the console's first load.
import { Image } from 'antd';
import { attachmentHref, type Attachment } from '../api';

export default function ImageThumbs({ images, onError }: { images: readonly Attachment[]; onError?: (a: Attachment) => void }) {
  return (
    <Image.PreviewGroup>
      {images.map((a) => (
        <Image key={a.id} src={attachmentHref(a.url)} alt={a.name} title={a.name} data-testid="attachment-image" onError={() => onError?.(a)} />
      ))}
    </Image.PreviewGroup>
  );
}
