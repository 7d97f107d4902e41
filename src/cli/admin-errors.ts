// Apart from admin-client.ts so that reporting an error does not load undici.

/** A refusal from the admin API, shown to the user as one line. */
export class AdminApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** No credential to send: said before any request, since the API would only answer 401. */
export class MissingTokenError extends Error {
  constructor() {
    super('no admin credential: set KEYGATE_ADMIN_TOKEN or pass --token (the admin token, or a key whose principal holds keygate:admin)');
  }
}
