import i18n from 'i18next';
import { createApiClient } from './client';
import { useAuth } from '../stores/auth';

export * from './types';
export { ApiError, errorMessage, formFieldErrors } from './errors';
export { createApiClient, fetchAllMessages, type ApiClient } from './client';
export { MAX_ATTACHMENTS, MAX_UPLOAD_BYTES, attachmentHref, formatSize, isImage, linkExpired, linkExpiry, linksChanged } from './attachments';

/** The console's client: same origin, the signed-in user's token, 401 signs out. */
export const api = createApiClient({
  getToken: () => useAuth.getState().token,
  onUnauthorized: () => useAuth.getState().expire(),
  getLanguage: () => i18n.language,
});
