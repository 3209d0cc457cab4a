package tenants

import (
	"context"
	"fmt"

	"kefu"
)

// The rules of user administration, enforced here for every caller:
//
//  1. API keys manage agents and supervisors only (an admin key: create,
//     change, deactivate; a developer key: nothing), never admins or owners:
//     a login of that rank gives nothing the key does not already have, so
//     a leaked key cannot mint itself more power. Everything else needs a
//     signed-in person.
//  2. The actor needs agents:write (admins and the owner by default).
//  3. Nobody grants more than they hold: the actor may touch only users
//     whose current role and new role rank at most its own (owner > admin >
//     supervisor > agent). So admins cannot rename, demote, deactivate or
//     reset the owner; owners are made only by signup.
//  4. The last active owner cannot be demoted, deactivated or deleted.
//  5. Nobody deactivates or deletes themselves, or resets their own
//     password without the current one (POST /me/password).
var roleRank = map[string]int{RoleAgent: 1, RoleSupervisor: 2, RoleAdmin: 3, RoleOwner: 4}

// rankOf is a user role's place in the hierarchy (0 for anything else,
// custom roles included: they manage, and are managed by, rank alone).
func rankOf(role string) int { return roleRank[role] }

// mayManage checks rules 1-3 for an action on a user whose current role is
// targetRole and whose role becomes newRole (either may be empty).
func (s *Service) mayManage(actor Principal, targetRole, newRole string) error {
	switch {
	case actor.Kind == KindAPIKey:
		if rankOf(targetRole) > rankOf(RoleSupervisor) || rankOf(newRole) > rankOf(RoleSupervisor) {
			return kefu.Errorf(kefu.EDenied, "an API key may manage agents and supervisors only")
		}
	case actor.Kind != KindUser:
		return kefu.Errorf(kefu.EDenied, "managing users needs a signed-in person")
	}
	ok, err := s.Can(actor, ObjAgents, ActWrite)
	if err != nil {
		return err
	}
	if !ok {
		return kefu.Errorf(kefu.EDenied, "your role may not manage users")
	}
	if actor.Kind == KindAPIKey {
		return nil // within rule 1's bounds, which are below an admin's
	}
	if targetRole != "" && rankOf(targetRole) > rankOf(actor.Role) {
		return kefu.Errorf(kefu.EDenied, "your role may not manage a user whose role is %s", targetRole)
	}
	if newRole != "" && rankOf(newRole) > rankOf(actor.Role) {
		return kefu.Errorf(kefu.EDenied, "you may not grant a role above your own")
	}
	// A custom role's permissions are whatever the admins made them:
	// only admins and the owner hand them out.
	if newRole != "" && rankOf(newRole) == 0 && rankOf(actor.Role) < rankOf(RoleAdmin) {
		return kefu.Errorf(kefu.EDenied, "only admins give custom roles")
	}
	return nil
}

// keepAnOwner refuses (conflict) to take row out of the owners when it is
// the last active one. (Signup makes the only owner and nothing makes
// another, so today this refuses every change of an owner's standing.)
func (s *Service) keepAnOwner(ctx context.Context, tenantID string, row userRow) error {
	if row.Role != RoleOwner || row.DeactivatedAt != nil {
		return nil
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return err
	}
	var n int64
	err = db.WithContext(ctx).Model(&userRow{}).
		Where("role = ? AND id <> ? AND deactivated_at IS NULL AND deleted_at IS NULL", RoleOwner, row.ID).Count(&n).Error
	if err != nil {
		return err
	}
	if n == 0 {
		return kefu.Errorf(kefu.EConflict, "the workspace's last owner cannot be demoted, deactivated or deleted")
	}
	return nil
}

// target loads a user the actor may act on (rules 1-3 and 5).
func (s *Service) target(ctx context.Context, actor Principal, userID string, self string) (userRow, error) {
	if err := s.mayManage(actor, "", ""); err != nil {
		return userRow{}, err
	}
	row, err := s.userRow(ctx, actor.TenantID, "id = ? AND deleted_at IS NULL", userID)
	if err != nil {
		return userRow{}, err
	}
	if err := s.mayManage(actor, row.Role, ""); err != nil {
		return userRow{}, err
	}
	if row.ID == actor.ID && self != "" {
		return userRow{}, kefu.Errorf(kefu.EConflict, "%s", self)
	}
	return row, nil
}

// DeactivateUser offboards a user: they cannot sign in, every session of
// theirs ends, the API keys they made are revoked, their sockets close on
// every node and their open conversations go back to the queue (the chat
// service does that on the AccountDeactivated event). History keeps their
// name. Deactivating a deactivated user changes nothing. Errors:
// permission_denied, not_found, conflict (themselves; the last owner).
func (s *Service) DeactivateUser(ctx context.Context, actor Principal, userID string) (User, error) {
	row, err := s.target(ctx, actor, userID, "you cannot deactivate yourself")
	if err != nil {
		return User{}, err
	}
	if row.DeactivatedAt == nil {
		if err := s.keepAnOwner(ctx, actor.TenantID, row); err != nil {
			return User{}, err
		}
		db, _ := s.store.Tenant(actor.TenantID)
		now := s.now()
		if err := db.WithContext(ctx).Model(&userRow{}).Where("id = ?", row.ID).Updates(map[string]any{"deactivated_at": &now, "updated_at": now}).Error; err != nil {
			return User{}, fmt.Errorf("deactivate user: %w", err)
		}
	}
	// Run even when already deactivated: it heals a half-done earlier call.
	if err := s.cutOff(ctx, actor.TenantID, row.ID, row.Name); err != nil {
		return User{}, err
	}
	return s.User(ctx, actor.TenantID, row.ID)
}

// cutOff ends every session and key of a user who is leaving, and
// announces it.
func (s *Service) cutOff(ctx context.Context, tenantID, userID, name string) error {
	if err := s.store.Platform().WithContext(ctx).Delete(&sessionRow{}, "tenant_id = ? AND user_id = ?", tenantID, userID).Error; err != nil {
		return err
	}
	if err := s.revokeKeysOf(ctx, tenantID, userID, ""); err != nil {
		return err
	}
	s.announce(ctx, AccountEvent{Kind: AccountDeactivated, TenantID: tenantID, UserID: userID, Name: name})
	return nil
}

// ReactivateUser lets a deactivated user sign in again (with the password
// they had, or one an admin sets); revoked keys stay revoked. Errors:
// permission_denied, not_found.
func (s *Service) ReactivateUser(ctx context.Context, actor Principal, userID string) (User, error) {
	row, err := s.target(ctx, actor, userID, "")
	if err != nil {
		return User{}, err
	}
	if row.DeactivatedAt != nil {
		if err := s.admitSeat(ctx, actor.TenantID); err != nil {
			return User{}, err
		}
		db, _ := s.store.Tenant(actor.TenantID)
		if err := db.WithContext(ctx).Model(&userRow{}).Where("id = ?", row.ID).Updates(map[string]any{"deactivated_at": nil, "updated_at": s.now()}).Error; err != nil {
			return User{}, fmt.Errorf("reactivate user: %w", err)
		}
	}
	return s.User(ctx, actor.TenantID, row.ID)
}

// DeleteUser deactivates a user for good and erases their email (so the
// address may be invited again) and password. The row stays as a tombstone
// under its id and name, so conversations and messages keep their author;
// no list or lookup shows it. Errors: as DeactivateUser.
func (s *Service) DeleteUser(ctx context.Context, actor Principal, userID string) error {
	row, err := s.target(ctx, actor, userID, "you cannot delete yourself")
	if err != nil {
		return err
	}
	if err := s.keepAnOwner(ctx, actor.TenantID, row); err != nil {
		return err
	}
	db, _ := s.store.Tenant(actor.TenantID)
	now := s.now()
	set := map[string]any{"deleted_at": &now, "updated_at": now, "email": "deleted-" + row.ID + "@deleted.invalid", "password_hash": "!"}
	if row.DeactivatedAt == nil {
		set["deactivated_at"] = &now
	}
	if err := db.WithContext(ctx).Model(&userRow{}).Where("id = ?", row.ID).Updates(set).Error; err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if err := s.unindexEmail(ctx, actor.TenantID, row.ID); err != nil {
		return err
	}
	return s.cutOff(ctx, actor.TenantID, row.ID, row.Name)
}

// ResetPassword sets another user's password and ends all their sessions
// (their sockets close); it also lifts a sign-in lockout on the account.
// Errors: invalid_argument, permission_denied, not_found, conflict (for
// oneself: use ChangePassword, which asks for the current one).
func (s *Service) ResetPassword(ctx context.Context, actor Principal, userID, password string) error {
	row, err := s.target(ctx, actor, userID, "change your own password with your current one (POST /api/v1/me/password)")
	if err != nil {
		return err
	}
	fields := map[string]string{}
	checkPassword(fields, password)
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	if err := s.setPassword(ctx, actor.TenantID, row.ID, password); err != nil {
		return err
	}
	if t, err := s.Tenant(ctx, actor.TenantID); err == nil {
		if err := s.clearFailures(ctx, lockKey(t.Slug, row.Email)); err != nil {
			return err
		}
	}
	return s.endSessions(ctx, actor.TenantID, row.ID, "")
}

// ChangePassword sets the principal's own password after checking the
// current one, and ends their other sessions (this one stays signed in).
// Wrong current passwords count towards the account's sign-in lockout.
// Errors: invalid_argument (fields current_password, new_password),
// permission_denied for API keys, rate_limited while locked out.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	if p.Kind != KindUser {
		return kefu.Errorf(kefu.EDenied, "only a signed-in person has a password")
	}
	fields := map[string]string{}
	checkPassword(fields, next)
	if msg, bad := fields["password"]; bad {
		delete(fields, "password")
		fields["new_password"] = msg
	}
	switch {
	case current == "":
		fields["current_password"] = "is required"
	case len(current) > 256:
		fields["current_password"] = "must be at most 256 bytes"
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	row, err := s.userRow(ctx, p.TenantID, "id = ? AND deleted_at IS NULL", p.ID)
	if err != nil {
		return err
	}
	t, err := s.Tenant(ctx, p.TenantID)
	if err != nil {
		return err
	}
	key := lockKey(t.Slug, row.Email)
	if err := s.checkLocked(ctx, key); err != nil {
		return err
	}
	if !CheckPassword(row.PasswordHash, current) {
		if err := s.noteFailure(ctx, key); err != nil {
			return err
		}
		return kefu.Invalid(map[string]string{"current_password": "is not your current password"})
	}
	if err := s.setPassword(ctx, p.TenantID, p.ID, next); err != nil {
		return err
	}
	return s.endSessions(ctx, p.TenantID, p.ID, p.tokenHash)
}

func (s *Service) setPassword(ctx context.Context, tenantID, userID, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return err
	}
	return db.WithContext(ctx).Model(&userRow{}).Where("id = ?", userID).Updates(map[string]any{"password_hash": hash, "updated_at": s.now()}).Error
}
