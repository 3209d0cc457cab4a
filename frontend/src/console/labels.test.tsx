import { beforeEach, describe, expect, it } from 'vitest';
import { screen, within } from '@testing-library/react';
import i18n from '../i18n';
import { renderWithApp } from '../test/render';
import { RowLabels } from './InboxList';
import { VisitorPanel } from './VisitorPanel';
import type { Conversation } from '../api';

const conv: Conversation = {
  id: 'c1',
  status: 'queued',
  visitor: { id: 'v1', name: 'Lin' },
  last_seq: 1,
  created_at: '2024-05-01T08:30:00Z',
  updated_at: '2024-05-01T08:30:00Z',
};

describe('conversation labels', () => {
  beforeEach(() => i18n.changeLanguage('en'));

  it('lists every label as a tag in the visitor panel, and none when there are none', () => {
    const { unmount } = renderWithApp(<VisitorPanel c={{ ...conv, labels: ['vip', 'refund', 'zh'] }} />);
    const box = screen.getByTestId('conversation-labels');
    expect(
      within(box)
        .getAllByTestId('conversation-label')
        .map((el) => el.textContent),
    ).toEqual(['vip', 'refund', 'zh']);
    expect(screen.getByText('Labels')).toBeTruthy();
    unmount();
    renderWithApp(<VisitorPanel c={{ ...conv, labels: [] }} />);
    expect(screen.queryAllByTestId('conversation-label')).toHaveLength(0);
    expect(screen.getByTestId('label-add')).toBeTruthy();
  });

  it('shows at most two labels on an inbox row, then +N', () => {
    const { container, unmount } = renderWithApp(<RowLabels labels={['vip', 'refund', 'zh', 'late']} />);
    const tags = [...container.querySelectorAll('.conv-tag')];
    expect(tags.map((el) => el.textContent)).toEqual(['vip', 'refund', '+2']);
    expect(tags[2]!.getAttribute('title')).toBe('2 more: zh, late');
    unmount();
    const two = renderWithApp(<RowLabels labels={['vip', 'refund']} />);
    expect([...two.container.querySelectorAll('.conv-tag')].map((el) => el.textContent)).toEqual(['vip', 'refund']);
    two.unmount();
    expect(renderWithApp(<RowLabels labels={undefined} />).container.querySelector('.conv-tag')).toBeNull();
  });
});
