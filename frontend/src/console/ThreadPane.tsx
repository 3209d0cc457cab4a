import { Thread } from './Thread';
import { VisitorPanel } from './VisitorPanel';
import { useMe } from './useMe';
import { useConversation } from './useThread';

/** The conversation's thread and its visitor panel. */
export default function ThreadPane({ id }: { id: string }) {
  const me = useMe();
  const conv = useConversation(id);
  if (!me.data) return null;
  return (
    <>
      <Thread id={id} me={me.data.user} />
      <VisitorPanel c={conv.data} />
    </>
  );
}
