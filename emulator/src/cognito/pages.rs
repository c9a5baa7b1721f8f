//! The hosted UI's HTML: the sign-in form and the error page.

use cognito_learning_server::escape_html as esc;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0}\
.box{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:6px;box-shadow:0 1px 4px #0003}\
label{display:block;margin-top:1rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
input[type=submit]{margin-top:1.5rem;width:100%;padding:.6rem;background:#1f6feb;color:#fff;border:0;border-radius:4px}\
.error{color:#b00020;margin-top:1rem}.hint{color:#555;font-size:.85rem;margin-top:1.5rem}";

/// The sign-in form. It posts back to `/login` with the same query string, as the real one does.
pub fn login(query: &str, csrf: &str, error: Option<&str>, username: &str) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error" id="loginErrorMessage">{}</p>"#, esc(e)))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signin</title><style>{STYLE}</style></head>
<body><div class="box">
<h1>Sign in</h1>
<p>Sign in with your username and password</p>
<form name="cognitoSignInForm" method="post" action="/login?{query}">
<input type="hidden" name="_csrf" value="{csrf}">
<label for="signInFormUsername">Username</label>
<input id="signInFormUsername" name="username" type="text" value="{username}" autocapitalize="none" required>
<label for="signInFormPassword">Password</label>
<input id="signInFormPassword" name="password" type="password" required>
<input name="signInSubmitButton" type="submit" value="Sign in">
</form>
{error}
<p class="hint">Local lab: the demo users <b>alice</b> and <b>bob</b> start with the password <b>Passw0rd!</b></p>
</div></body></html>
"#,
        query = esc(query),
        csrf = esc(csrf),
        username = esc(username),
    )
}

/// The hosted UI's "Change password" form, after a temporary password: it posts back to
/// `/login` with the same query string and the challenge that names the user.
pub fn new_password(query: &str, csrf: &str, challenge: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| {
            format!(
                r#"<p class="error" id="changePasswordErrorMessage">{}</p>"#,
                esc(e)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Change Password</title><style>{STYLE}</style></head>
<body><div class="box">
<h1>Change Password</h1>
<p>Please enter a new password.</p>
<form name="cognitoNewPasswordForm" method="post" action="/login?{query}">
<input type="hidden" name="_csrf" value="{csrf}">
<input type="hidden" name="challenge" value="{challenge}">
<label for="new_password">New Password</label>
<input id="new_password" name="new_password" type="password" required>
<label for="confirm_password">Enter New Password Again</label>
<input id="confirm_password" name="confirm_password" type="password" required>
<input name="reset_my_password" type="submit" value="Send">
</form>
{error}
<p class="hint">At least 8 characters, with upper- and lower-case letters, a digit and a symbol.</p>
</div></body></html>
"#,
        query = esc(query),
        csrf = esc(csrf),
        challenge = esc(challenge),
    )
}

/// The page Cognito shows for `/error` (HTTP 400).
pub fn error(detail: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Error</title><style>{STYLE}</style></head>
<body><div class="box">
<h1>An error was encountered with the requested page.</h1>
<p class="error">{}</p>
</div></body></html>
"#,
        esc(detail)
    )
}
