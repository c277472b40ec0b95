//! Unit tests of `auth`.

use super::*;

fn db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let data =
        cap_std::fs::Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
    let db = open_offline(&data).unwrap();
    (dir, db)
}

fn spec(role: Role) -> TokenSpec {
    TokenSpec {
        role,
        tenant: None,
        vendor: None,
        label: None,
    }
}

#[test]
fn an_issued_token_authenticates_until_revoked_and_only_its_hash_is_stored() {
    let (_d, db) = db();
    let tokens = Tokens::load(db).unwrap();
    let issued = tokens.issue(spec(Role::Service), 1, "cli").unwrap();
    assert!(issued.token.starts_with(PREFIX));
    let who = tokens.authenticate(&issued.token).unwrap();
    assert_eq!(who.role, Role::Service);
    assert_eq!(who.tenant.as_deref(), Some(DEFAULT_TENANT));
    assert!(tokens.authenticate("sluice_nope").is_none());
    let stored = tokens.list().unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !serde_json::to_string(&stored)
            .unwrap()
            .contains(&issued.token[PREFIX.len()..]),
        "the token itself is never stored"
    );
    tokens.revoke(&issued.record.id, 2, "cli").unwrap().unwrap();
    assert!(tokens.authenticate(&issued.token).is_none());
    assert_eq!(tokens.list().unwrap()[0].revoked_at, Some(2));
    assert!(
        tokens
            .revoke("tok_000000000000", 3, "cli")
            .unwrap()
            .is_none()
    );
}

#[test]
fn specs_bind_vendors_and_tenants_to_the_roles_that_use_them() {
    let vendor = TokenSpec {
        vendor: Some("dpd".into()),
        ..spec(Role::Vendor)
    };
    assert!(vendor.normalized().is_ok());
    assert!(matches!(
        spec(Role::Vendor).normalized(),
        Err(SpecError::VendorMissing)
    ));
    let admin_with_tenant = TokenSpec {
        tenant: Some("acme".into()),
        ..spec(Role::Admin)
    };
    assert!(admin_with_tenant.normalized().is_err());
    let bad_tenant = TokenSpec {
        tenant: Some("a/b".into()),
        ..spec(Role::Service)
    };
    assert!(bad_tenant.normalized().is_err());
}

#[test]
fn vendor_tokens_are_only_for_listed_vendors() {
    let vendor = |v: &str| TokenSpec {
        vendor: Some(v.into()),
        ..spec(Role::Vendor)
    };
    let listed = |v: &str| v == "dpd";
    assert!(vendor("dpd").check_listed(listed).is_ok());
    let err = vendor("acme").check_listed(listed).unwrap_err();
    assert!(matches!(&err, SpecError::VendorNotListed(v) if v == "acme"));
    assert_eq!(err.clause(), Some("3.2"));
    assert!(
        err.to_string()
            .contains("`acme` is not in the subprocessor register")
    );
    assert!(spec(Role::Admin).check_listed(listed).is_ok());
}

#[test]
fn bearer_headers_are_parsed_strictly() {
    assert_eq!(bearer("Bearer abc").unwrap(), "abc");
    assert_eq!(bearer("bearer abc").unwrap(), "abc");
    assert!(bearer("Basic abc").is_err());
    assert!(bearer("Bearer ").is_err());
    assert!(bearer("abc").is_err());
}
