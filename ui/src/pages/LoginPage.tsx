// The login page: a plain form that navigates to /login?token=…, where the server checks
// the token, sets the HttpOnly session cookie and redirects to /. No script ever holds the
// token; a wrong one brings the browser back here with the server's 401.
export function LoginPage() {
  const url = new URL(window.location.href);
  const tried = url.pathname === "/login" && url.searchParams.has("token");
  return (
    <div className="login">
      <form className="login-card" method="get" action="/login">
        <div className="brand">legato</div>
        <h1>Sign in</h1>
        <p className="muted">
          Open the login URL <code>legato ui</code> printed, or paste a token from
          <code> ui-tokens.json</code> in the legato home.
        </p>
        {tried && (
          <p className="error" role="alert">
            That token is not one of this server's. Use the login URL legato ui printed.
          </p>
        )}
        <label>
          Token
          <input name="token" type="password" autoComplete="off" required autoFocus />
        </label>
        <button type="submit" className="primary">Sign in</button>
      </form>
    </div>
  );
}
