import { createContext, useContext, type ReactNode } from 'react';
import { message } from 'antd';
import type { MessageInstance } from 'antd/es/message/interface';

const ToastContext = createContext<MessageInstance | null>(null);

/**
 * antd's message API bound to the ConfigProvider's theme and locale. Lighter
 * than antd's <App> (which also brings the modal and notification code into
 * the first bundle).
 */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [api, holder] = message.useMessage();
  return (
    <ToastContext.Provider value={api}>
      {holder}
      {children}
    </ToastContext.Provider>
  );
}

export function useToast(): MessageInstance {
  const api = useContext(ToastContext);
  return api ?? message;
}
