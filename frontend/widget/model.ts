// The widget's message timeline, kept apart from the DOM so it can be tested:
// one entry per stored message (deduplicated by conversation and seq), local
// entries for messages waiting for their ack (matched by client_id).
import { linksChanged } from '../src/api/attachments';
import type { Attachment, AuthorType } from '../src/api/types';

export interface Entry {
  conversation_id: string;
  seq: number;
  client_id?: string;
  author: AuthorType;
  name?: string;
  body: string;
  /** Stored files; while uploading, local stand-ins (id "", url a blob: preview or ""). */
  attachments?: Attachment[];
  created_at: string;
  pending?: boolean;
  /** Files are still being uploaded; the message goes out once they are stored. */
  uploading?: boolean;
  failed?: string;
}

export class Timeline {
  private entries: Entry[] = [];

  all(): readonly Entry[] {
    return this.entries;
  }

  /** Adds or updates an entry; returns false when it changed nothing (a duplicate). */
  upsert(e: Entry): boolean {
    if (e.client_id) {
      const i = this.entries.findIndex((x) => x.client_id === e.client_id);
      if (i >= 0) {
        const old = this.entries[i]!;
        if (e.pending && !old.pending && !old.failed) return false;
        this.entries[i] = { ...old, ...e, pending: !!e.pending, uploading: e.uploading, failed: e.failed };
        this.sort();
        return true;
      }
    }
    const same = e.seq > 0 ? this.entries.findIndex((x) => x.seq === e.seq && x.conversation_id === e.conversation_id && !x.pending) : -1;
    if (same >= 0) {
      // A replayed message carries freshly signed file links: take them.
      if (e.pending || !linksChanged(this.entries[same]!.attachments, e.attachments)) return false;
      this.entries[same] = { ...this.entries[same]!, attachments: e.attachments };
      return true;
    }
    this.entries.push(e);
    this.sort();
    return true;
  }

  ack(client_id: string, conversation_id: string, seq: number): boolean {
    const i = this.entries.findIndex((x) => x.client_id === client_id);
    if (i < 0) return false;
    const dup = this.entries.some((x, j) => j !== i && x.conversation_id === conversation_id && x.seq === seq && !x.pending);
    if (dup) this.entries.splice(i, 1);
    else this.entries[i] = { ...this.entries[i]!, conversation_id, seq, pending: false, uploading: undefined, failed: undefined };
    this.sort();
    return true;
  }

  fail(client_id: string, reason: string): void {
    const e = this.entries.find((x) => x.client_id === client_id);
    if (e) {
      e.pending = false;
      e.uploading = undefined;
      e.failed = reason;
    }
  }

  /** Messages from the business (agents, bots) newer than what the visitor has seen. */
  unread(seen: Record<string, number>): number {
    return this.entries.filter((e) => e.seq > 0 && e.author !== 'visitor' && e.author !== 'system' && e.seq > (seen[e.conversation_id] ?? 0)).length;
  }

  /** Highest stored seq per conversation. */
  maxSeqs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries) if (e.seq > (out[e.conversation_id] ?? 0)) out[e.conversation_id] = e.seq;
    return out;
  }

  clear(): void {
    this.entries = [];
  }

  // Stored messages in time order (seq within a conversation), local ones last.
  private sort() {
    const local = this.entries.filter((e) => e.pending || e.failed);
    const stored = this.entries
      .filter((e) => !e.pending && !e.failed)
      .sort((a, b) => (a.conversation_id === b.conversation_id ? a.seq - b.seq : a.created_at.localeCompare(b.created_at)));
    this.entries = [...stored, ...local];
  }
}
