import { Spin } from 'antd';

export function FullPageSpin() {
  return (
    <div className="full-center" role="status" aria-busy="true">
      <Spin size="large" />
    </div>
  );
}
