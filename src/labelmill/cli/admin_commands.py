"""Installation admin, straight on the database through the services: ``org``, ``user``,
``key``, ``pool`` and ``staff``.

These commands act as the platform admin (``CLI_ADMIN``): whoever can run them can read the
database anyway. Over-HTTP work (import, export, simulate) goes through the SDK instead.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelmill.cli.context import data_dir_option, open_database
from labelmill.server.errors import NotFound
from labelmill.server.models import Organization, User, WorkforcePool
from labelmill.server.models.tenancy import ORG_ROLES
from labelmill.server.services import callbacks, projects, tenancy, workforce
from labelmill.server.services.auth import CLI_ADMIN

role_choice = click.Choice(ORG_ROLES)


def _org(session: Session, name: str | None) -> Organization | None:
    return None if name is None else tenancy.get_org_by_name(session=session, name=name)


def _pool(session: Session, name: str, org: Organization | None) -> WorkforcePool:
    """An organization's own pool by name, else (or without ``--org``) a platform pool."""
    if org is not None:
        try:
            return workforce.get_pool_by_name(session=session, org_id=org.id, name=name)
        except NotFound:
            pass
    return workforce.get_pool_by_name(session=session, org_id=None, name=name)


# -- org ---------------------------------------------------------------------------------------


@click.group()
def org() -> None:
    """Organizations (tenants)."""


@org.command("create")
@click.argument("name")
@data_dir_option
def org_create(name: str, data_dir: Path | None) -> None:
    """Create an organization."""
    with open_database(data_dir) as db, db.write_session() as session:
        created = tenancy.create_org(session=session, name=name, actor=CLI_ADMIN)
        click.echo(f"organization {created.name!r} created (id {created.id})")


@org.command("list")
@data_dir_option
def org_list(data_dir: Path | None) -> None:
    """List organizations."""
    with open_database(data_dir) as db, db.read_session() as session:
        orgs = tenancy.list_orgs(session=session)
        if not orgs:
            click.echo("no organizations")
        for row in orgs:
            click.echo(f"{row.id}\t{row.name}\t{row.created_at:%Y-%m-%d %H:%M}")


@org.command("callback-key")
@click.argument("name")
@click.option("--rotate", is_flag=True, help="Replace the key with a new one first.")
@data_dir_option
def org_callback_key(name: str, rotate: bool, data_dir: Path | None) -> None:
    """Print the organization's callback key (sent in the scale-callback-auth header)."""
    with open_database(data_dir) as db, db.write_session() as session:
        found = tenancy.get_org_by_name(session=session, name=name)
        if rotate:
            click.echo(
                callbacks.rotate_callback_key(session=session, org_id=found.id, actor=CLI_ADMIN)
            )
        else:
            click.echo(callbacks.callback_key(session=session, org_id=found.id))


# -- user --------------------------------------------------------------------------------------


@click.group()
def user() -> None:
    """People: members of organizations, workers, admins."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", default=None, help="For the browser UI; keys need none.")
@click.option("--admin", "is_admin", is_flag=True, help="A platform admin.")
@click.option("--org", "org_name", default=None, help="Make the user a member of this org.")
@click.option("--role", type=role_choice, default=None, help="Role in --org (default viewer).")
@data_dir_option
def user_create(
    email: str,
    name: str,
    password: str | None,
    is_admin: bool,
    org_name: str | None,
    role: str | None,
    data_dir: Path | None,
) -> None:
    """Create a user, optionally as a member of an organization."""
    if role is not None and org_name is None:
        raise click.UsageError("--role needs --org")
    with open_database(data_dir) as db, db.write_session() as session:
        member_of = _org(session, org_name)
        created = tenancy.create_user(
            session=session, email=email, name=name, password=password, is_admin=is_admin
        )
        line = f"user {created.email} created (id {created.id})"
        if member_of is not None:
            tenancy.add_member(session=session, org=member_of, user=created, role=role or "viewer")
            line += f", {role or 'viewer'} of {member_of.name!r}"
        click.echo(line)


# -- key ---------------------------------------------------------------------------------------


@click.group()
def key() -> None:
    """API keys (shown once when created, stored hashed)."""


@key.command("create")
@click.option("--org", "org_name", default=None, help="An organization key.")
@click.option("--user", "email", default=None, help="On behalf of this member; alone: worker key.")
@click.option("--role", type=role_choice, default=None, help="Org key's role (default owner).")
@click.option("--test", "is_test", is_flag=True, help="A test-mode key (lm_test_...).")
@click.option("--name", default="", help="A label to recognise the key by.")
@data_dir_option
def key_create(
    org_name: str | None,
    email: str | None,
    role: str | None,
    is_test: bool,
    name: str,
    data_dir: Path | None,
) -> None:
    """Create an API key and print it (the only time it is shown)."""
    if org_name is None and email is None:
        raise click.UsageError("give --org, --user, or both")
    if role is not None and (org_name is None or email is not None):
        raise click.UsageError("--role applies to an organization key (--org without --user)")
    with open_database(data_dir) as db, db.write_session() as session:
        owner: User | None = None
        if email is not None:
            owner = tenancy.get_user_by_email(session=session, email=email)
        request = tenancy.KeyRequest(
            org=_org(session, org_name), user=owner, role=role, is_test=is_test, name=name
        )
        minted = tenancy.create_key(session=session, request=request, actor=CLI_ADMIN)
        kind = "worker key" if org_name is None else f"key for {org_name!r}"
        click.echo(f"{kind} created; it is shown only this once:", err=True)
        click.echo(minted.secret)


@key.command("list")
@click.option("--org", "org_name", default=None, help="Only this organization's keys.")
@data_dir_option
def key_list(org_name: str | None, data_dir: Path | None) -> None:
    """List keys by prefix (secrets are never stored)."""
    with open_database(data_dir) as db, db.read_session() as session:
        only = _org(session, org_name)
        keys = tenancy.list_keys(session=session, org_id=only.id if only else None)
        org_names = {row.id: row.name for row in tenancy.list_orgs(session=session)}
        if not keys:
            click.echo("no keys")
        for row in keys:
            owner = org_names.get(row.org_id, "-") if row.org_id is not None else "(worker)"
            state = "revoked" if row.revoked_at is not None else "active"
            flags = " test" if row.is_test else ""
            click.echo(
                f"{row.prefix}…\t{owner}\t{row.role or '-'}\t{state}{flags}\t{row.name}".rstrip()
            )


@key.command("revoke")
@click.argument("prefix")
@data_dir_option
def key_revoke(prefix: str, data_dir: Path | None) -> None:
    """Revoke the key whose listed prefix is PREFIX."""
    with open_database(data_dir) as db, db.write_session() as session:
        revoked = tenancy.revoke_key(session=session, prefix=prefix.rstrip("…."))
        click.echo(f"key {revoked.prefix}… revoked")


# -- pool and staffing -------------------------------------------------------------------------


@click.group()
def pool() -> None:
    """Workforce pools."""


@pool.command("create")
@click.argument("name")
@click.option("--org", "org_name", default=None, help="Owner org; default: a platform pool.")
@data_dir_option
def pool_create(name: str, org_name: str | None, data_dir: Path | None) -> None:
    """Create a pool (an organization's own, or a platform pool any organization may use)."""
    with open_database(data_dir) as db, db.write_session() as session:
        owner = _org(session, org_name)
        created = workforce.create_pool(
            session=session, org_id=owner.id if owner else None, name=name, actor=CLI_ADMIN
        )
        where = f"of {owner.name!r}" if owner else "(platform)"
        click.echo(f"pool {created.name!r} {where} created (id {created.id})")


@pool.command("add-member")
@click.argument("pool_name", metavar="POOL")
@click.option("--user", "email", required=True)
@click.option("--org", "org_name", default=None, help="The pool's organization.")
@click.option("--reviewer", is_flag=True, help="Also a reviewer.")
@data_dir_option
def pool_add_member(
    pool_name: str, email: str, org_name: str | None, reviewer: bool, data_dir: Path | None
) -> None:
    """Add a user to a pool as an annotator (and reviewer)."""
    with open_database(data_dir) as db, db.write_session() as session:
        target = _pool(session, pool_name, _org(session, org_name))
        person = tenancy.get_user_by_email(session=session, email=email)
        workforce.add_pool_member(
            session=session,
            pool=target,
            user_id=person.id,
            annotator=True,
            reviewer=reviewer,
            actor=CLI_ADMIN,
        )
        click.echo(f"{person.email} is in pool {target.name!r}")


@pool.command("list")
@data_dir_option
def pool_list(data_dir: Path | None) -> None:
    """List every pool with its organization."""
    with open_database(data_dir) as db, db.read_session() as session:
        org_names = {row.id: row.name for row in tenancy.list_orgs(session=session)}
        pools = session.scalars(select(WorkforcePool).order_by(WorkforcePool.id)).all()
        if not pools:
            click.echo("no pools")
        for row in pools:
            owner = org_names.get(row.org_id, "?") if row.org_id is not None else "(platform)"
            click.echo(f"{row.id}\t{row.name}\t{owner}")


@click.command()
@click.option("--org", "org_name", required=True)
@click.option("--project", "project_name", required=True, help="Project name (or id).")
@click.option("--pool", "pool_name", required=True, help="Org pool or platform pool name.")
@data_dir_option
def staff(org_name: str, project_name: str, pool_name: str, data_dir: Path | None) -> None:
    """Let a pool's workers work on a project."""
    with open_database(data_dir) as db, db.write_session() as session:
        owner = tenancy.get_org_by_name(session=session, name=org_name)
        try:
            project = projects.get_project_by_name(
                session=session, org_id=owner.id, name=project_name
            )
        except NotFound:
            if not project_name.isdigit():
                raise
            project = projects.get_project(
                session=session, org_id=owner.id, project_id=int(project_name)
            )
        target = _pool(session, pool_name, owner)
        workforce.add_staffing(session=session, project=project, pool=target, actor=CLI_ADMIN)
        click.echo(f"pool {target.name!r} staffs project {project.name!r}")
