import { useQuery } from '@tanstack/react-query';
import { api, type OnboardingStepId } from '../api';
import { keys } from '../realtime/keys';

// The checklist's data, apart from its card: the inbox asks whether to show
// the card without loading it (the card is its own chunk).

/** Where each step is done; the demo page needs the widget key. */
export function stepLink(id: OnboardingStepId, widgetKey: string | undefined): { to: string; external?: boolean } {
  switch (id) {
    case 'snippet':
    case 'widget':
      return { to: '/app/admin/widget' };
    case 'invite':
      return { to: '/app/admin/agents' };
    case 'business_hours':
    case 'flow':
      return { to: '/app/admin/flows' };
    case 'test_message':
      return { to: widgetKey ? `/demo?key=${encodeURIComponent(widgetKey)}` : '/demo', external: true };
  }
}

export function useOnboarding(enabled = true) {
  return useQuery({
    queryKey: keys.onboarding,
    queryFn: api.onboarding.get,
    enabled,
    // The steps tick themselves: look again now and then, and on return to the tab.
    refetchInterval: 20_000,
    refetchOnWindowFocus: true,
    retry: false,
  });
}
