import { useCallback } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, errorMessage, type Attachment, type User } from '../api';
import { ackMessage, applyMessage, failMessage, type ThreadMessage } from '../realtime/cache';
import { useRealtime } from '../stores/realtime';
import { newClientId, RealtimeError } from '../ws/client';

export const MAX_BODY = 8000;

/**
 * Sends a reply or an internal note optimistically: the bubble shows at once
 * as pending and turns into a stored message on ack. Replies go over the
 * WebSocket (resent with the same client_id after a reconnect); notes go over
 * REST, which is the only way to post private messages. Attachments are
 * uploaded beforehand (api.uploads.create); their ids go with the message.
 */
export function useSend(conversationId: string, me: User) {
  const qc = useQueryClient();
  const { t } = useTranslation();
  return useCallback(
    (body: string, isPrivate: boolean, retryClientId?: string, attachments?: readonly Attachment[] | null) => {
      const files = attachments?.length ? [...attachments] : undefined;
      const ids = files?.map((a) => a.id);
      const client_id = retryClientId ?? newClientId();
      const local: ThreadMessage = {
        id: client_id,
        conversation_id: conversationId,
        seq: 0,
        client_id,
        author: { type: 'agent', id: me.id, name: me.name },
        body,
        private: isPrivate,
        attachments: files ?? [],
        created_at: new Date().toISOString(),
        pending: true,
      };
      applyMessage(qc, local);
      const fail = (err: unknown) =>
        failMessage(qc, conversationId, client_id, err instanceof RealtimeError && err.code === 'too_large' ? t('thread.tooLong') : errorMessage(err, t('thread.failed')));
      const client = useRealtime.getState().client;
      if (isPrivate || !client) {
        api.conversations
          .postMessage(conversationId, { body, client_id, private: isPrivate, attachments: ids })
          .then((m) => {
            client?.markSeen(conversationId, m.seq);
            applyMessage(qc, { ...m, client_id: m.client_id ?? client_id, private: m.private ?? isPrivate });
          })
          .catch(fail);
        return;
      }
      client
        .sendMessage({ conversation_id: conversationId, body, client_id, attachments: ids })
        .acked.then((a) => ackMessage(qc, conversationId, client_id, a.seq, a.message_id))
        .catch(fail);
    },
    [qc, conversationId, me.id, me.name, t],
  );
}
