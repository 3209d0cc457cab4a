import logo from '../assets/logo.svg';

export function Logo({ size = 28, withName = false, name = 'Kefu' }: { size?: number; withName?: boolean; name?: string }) {
  return (
    <span className="logo">
      <img src={logo} width={size} height={size} alt="" />
      {withName ? <span className="logo-name">{name}</span> : null}
    </span>
  );
}
