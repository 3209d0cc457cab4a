import { Component, type ErrorInfo, type ReactNode } from 'react';
import { RouteError } from './RouteError';

/** Shows RouteError instead of a blank page when rendering throws (e.g. a stale lazy chunk after a deploy). */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state = { error: null as unknown };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo) {
    console.error('kefu: render failed', error, info.componentStack);
  }

  override render() {
    if (this.state.error) return <RouteError error={this.state.error} onReset={() => this.setState({ error: null })} />;
    return this.props.children;
  }
}
