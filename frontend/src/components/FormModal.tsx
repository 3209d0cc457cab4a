import { useState, type ReactNode } from 'react';
import { Alert, Form, Modal, type FormInstance, type FormProps } from 'antd';
import { useTranslation } from 'react-i18next';
import { applyFormError } from '../lib/forms';

export interface FormModalProps<T, K extends string & keyof T> {
  open: boolean;
  title: ReactNode;
  /** The OK button's text (it submits the form). */
  okText: string;
  /** The OK button's data-testid. */
  okTestId: string;
  onClose: () => void;
  /**
   * Called with the form's values once they validate; it does the work and
   * closes the modal. What it throws shows above the form, the problems with
   * one of `fields` on that field instead.
   */
  onSubmit: (values: T, form: FormInstance<T>) => Promise<void>;
  fields: readonly K[];
  /** A form instance of the caller's (to reset or read it), else one of the modal's own. */
  form?: FormInstance<T>;
  /** Shown above the error and the form. */
  intro?: ReactNode;
  /** The <Form>'s own props (initialValues, data-testid). */
  formProps?: Omit<FormProps<T>, 'form' | 'onFinish' | 'layout'> & { 'data-testid'?: string };
  children: ReactNode;
}

/**
 * A modal that holds one form, as every add/edit dialog of the admin pages
 * does: OK submits the form, spins while the call runs, and a failure shows
 * as an alert above the form and as messages on the fields it names. The
 * modal's content is destroyed when it closes.
 */
export function FormModal<T, K extends string & keyof T>({
  open,
  title,
  okText,
  okTestId,
  onClose,
  onSubmit,
  fields,
  form: given,
  intro,
  formProps,
  children,
}: FormModalProps<T, K>) {
  const { t } = useTranslation();
  const [form] = Form.useForm<T>(given);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(values: T) {
    setBusy(true);
    setError(null);
    try {
      await onSubmit(values, form);
    } catch (err) {
      setError(applyFormError(form, err, fields, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={title}
      onCancel={onClose}
      okText={okText}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      destroyOnHidden
      okButtonProps={{ 'data-testid': okTestId } as Record<string, string>}
    >
      {intro}
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Form<T> form={form} layout="vertical" requiredMark={false} onFinish={submit} {...formProps}>
        {children}
      </Form>
    </Modal>
  );
}
