//! Permissions for operator and service accounts: admins (two-step; an account with admins loses
//! its own rights) and appointees allowed one transaction kind each.

use cairn_primitives::Address;
use serde::Serialize;

use crate::{Ctx, Event, State, TxError, TxKind};

/// Why a permission transaction was refused (or a caller lacked rights).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum PermissionError {
    /// The caller may not act for the account.
    #[error("{caller} may not send {action:?} for {account}")]
    Unauthorized {
        /// The account acted for.
        account: Address,
        /// The caller.
        caller: Address,
        /// The action.
        action: TxKind,
    },
    /// The caller is not an admin of the account.
    #[error("{caller} is not an admin of {account}")]
    NotAdmin {
        /// The account.
        account: Address,
        /// The caller.
        caller: Address,
    },
    /// Already an admin.
    #[error("{admin} is already an admin of {account}")]
    AdminAlreadySet {
        /// The account.
        account: Address,
        /// The admin.
        admin: Address,
    },
    /// Already pending.
    #[error("{admin} is already pending as admin of {account}")]
    AdminAlreadyPending {
        /// The account.
        account: Address,
        /// The admin.
        admin: Address,
    },
    /// Not pending.
    #[error("{admin} is not pending as admin of {account}")]
    AdminNotPending {
        /// The account.
        account: Address,
        /// The admin.
        admin: Address,
    },
    /// Not an admin.
    #[error("{admin} is not an admin of {account}")]
    AdminNotSet {
        /// The account.
        account: Address,
        /// The admin.
        admin: Address,
    },
    /// The last admin cannot be removed.
    #[error("cannot remove the last admin of {account}")]
    CannotHaveZeroAdmins {
        /// The account.
        account: Address,
    },
    /// Appointment already set.
    #[error("{appointee} already appointed for {action:?} by {account}")]
    AppointeeAlreadySet {
        /// The account.
        account: Address,
        /// The appointee.
        appointee: Address,
        /// The action.
        action: TxKind,
    },
    /// No such appointment.
    #[error("{appointee} not appointed for {action:?} by {account}")]
    AppointeeNotSet {
        /// The account.
        account: Address,
        /// The appointee.
        appointee: Address,
        /// The action.
        action: TxKind,
    },
    /// Not a pauser.
    #[error("{caller} is not a pauser")]
    NotPauser {
        /// The caller.
        caller: Address,
    },
    /// Not the unpauser.
    #[error("{caller} is not the unpauser {unpauser}")]
    NotUnpauser {
        /// The caller.
        caller: Address,
        /// The unpauser.
        unpauser: Address,
    },
}

impl State {
    /// One descent: the first admin entry at or after `(account, 0)` is the account's, if any.
    fn has_admins(&self, account: Address) -> bool {
        self.admins.range((account, Address::ZERO)..).next().is_some_and(|((a, _), _)| *a == account)
    }

    /// Whether `caller` is an admin of `account` (the account itself while it has none).
    pub fn is_admin(&self, account: Address, caller: Address) -> bool {
        if self.has_admins(account) { self.admins.contains(&(account, caller)) } else { caller == account }
    }

    /// Whether `caller` may send `action` on behalf of `account`.
    pub fn can_call(&self, account: Address, caller: Address, action: TxKind) -> bool {
        self.is_admin(account, caller) || self.appointees.contains(&(account, caller, action))
    }

    pub(crate) fn check_can_call(
        &self,
        account: Address,
        caller: Address,
        action: TxKind,
    ) -> Result<(), PermissionError> {
        if self.can_call(account, caller, action) {
            Ok(())
        } else {
            Err(PermissionError::Unauthorized { account, caller, action })
        }
    }

    fn require_admin(&self, account: Address, caller: Address) -> Result<(), PermissionError> {
        if self.is_admin(account, caller) { Ok(()) } else { Err(PermissionError::NotAdmin { account, caller }) }
    }

    pub(crate) fn tx_add_pending_admin(
        &mut self,
        ctx: &Ctx,
        account: Address,
        admin: Address,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_admin(account, ctx.sender)?;
        if self.admins.contains(&(account, admin)) {
            return Err(PermissionError::AdminAlreadySet { account, admin }.into());
        }
        if self.pending_admins.contains(&(account, admin)) {
            return Err(PermissionError::AdminAlreadyPending { account, admin }.into());
        }
        self.pending_admins.insert((account, admin), ());
        ev.push(Event::PendingAdminAdded { account, admin });
        Ok(())
    }

    pub(crate) fn tx_remove_pending_admin(
        &mut self,
        ctx: &Ctx,
        account: Address,
        admin: Address,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_admin(account, ctx.sender)?;
        if self.pending_admins.remove(&(account, admin)).is_none() {
            return Err(PermissionError::AdminNotPending { account, admin }.into());
        }
        ev.push(Event::PendingAdminRemoved { account, admin });
        Ok(())
    }

    pub(crate) fn tx_accept_admin(&mut self, ctx: &Ctx, account: Address, ev: &mut Vec<Event>) -> Result<(), TxError> {
        let admin = ctx.sender;
        if self.pending_admins.remove(&(account, admin)).is_none() {
            return Err(PermissionError::AdminNotPending { account, admin }.into());
        }
        self.admins.insert((account, admin), ());
        ev.push(Event::AdminSet { account, admin });
        Ok(())
    }

    pub(crate) fn tx_remove_admin(
        &mut self,
        ctx: &Ctx,
        account: Address,
        admin: Address,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_admin(account, ctx.sender)?;
        if !self.admins.contains(&(account, admin)) {
            return Err(PermissionError::AdminNotSet { account, admin }.into());
        }
        let count = self.admins.range((account, Address::ZERO)..=(account, Address::repeat_byte(0xff))).count();
        if count == 1 {
            return Err(PermissionError::CannotHaveZeroAdmins { account }.into());
        }
        self.admins.remove(&(account, admin));
        ev.push(Event::AdminRemoved { account, admin });
        Ok(())
    }

    pub(crate) fn tx_set_appointee(
        &mut self,
        ctx: &Ctx,
        account: Address,
        appointee: Address,
        action: TxKind,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_admin(account, ctx.sender)?;
        if self.appointees.contains(&(account, appointee, action)) {
            return Err(PermissionError::AppointeeAlreadySet { account, appointee, action }.into());
        }
        self.appointees.insert((account, appointee, action), ());
        ev.push(Event::AppointeeSet { account, appointee, action });
        Ok(())
    }

    pub(crate) fn tx_remove_appointee(
        &mut self,
        ctx: &Ctx,
        account: Address,
        appointee: Address,
        action: TxKind,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_admin(account, ctx.sender)?;
        if self.appointees.remove(&(account, appointee, action)).is_none() {
            return Err(PermissionError::AppointeeNotSet { account, appointee, action }.into());
        }
        ev.push(Event::AppointeeRemoved { account, appointee, action });
        Ok(())
    }
}
