import { memo } from 'react';
import { linkify } from './linkify';

/** Message text with its web addresses as links that open in a new tab, without the opener. */
export const Linkified = memo(function Linkified({ text }: { text: string }) {
  const pieces = linkify(text);
  if (pieces.length === 1 && !pieces[0]!.href) return <>{text}</>;
  return (
    <>
      {pieces.map((p, i) =>
        p.href ? (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer" className="msg-link">
            {p.text}
          </a>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
});
