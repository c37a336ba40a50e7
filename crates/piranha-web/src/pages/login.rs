//! The login page and the CHANGE PASSWORD help.

use super::layout::{layout, Ctx, Tab};
use maud::{html, Markup};

/// The login page (also the body of every 401 for a browser).
pub fn login(message: Option<&str>, no_password_file: bool, passwd_path: &str) -> Markup {
    let ctx = Ctx::default();
    layout(
        "Login",
        Tab::None,
        &ctx,
        html! {
            @if no_password_file {
                p.alert role="alert" {
                    "No password is set, so nobody can log in. As root, run "
                    code { "piranha-passwd" }
                    " to set the password of the user piranha (it is stored in "
                    code { (passwd_path) } ")."
                }
            } @else {
                p { "Welcome to Piranha, the LVS web configuration tool. You are required to login to use this tool's features." }
                @if let Some(m) = message { p.alert role="alert" { (m) } }
                form method="post" action="/login" {
                    table {
                        tr { td { label for="user" { "Username:" } } td { input type="text" id="user" name="user" value="piranha" autocomplete="username"; } }
                        tr { td { label for="password" { "Password:" } } td { input type="password" id="password" name="password" autocomplete="current-password"; } }
                    }
                    button type="submit" id="login" { "Login" }
                }
                p { small { "The user is piranha; its password is set with piranha-passwd, as root." } }
            }
        },
    )
}

/// The CHANGE PASSWORD help page.
pub fn passwd_help(ctx: &Ctx, passwd_path: &str) -> Markup {
    layout(
        "Change password",
        Tab::Control,
        ctx,
        html! {
            p { "The login user is " code { "piranha" } ". Its password cannot be changed from the web: as root on this router, run" }
            pre { "/usr/sbin/piranha-passwd" }
            p { "which stores a bcrypt hash in " code { (passwd_path) } "." }
        },
    )
}
