const axios = require('axios');

class AuthClient {
  constructor({ authServerUrl, clientId, clientSecret }) {
    this.authServerUrl = authServerUrl;
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.accessToken = null;
    this.refreshToken = null;
  }
  // Initiate login and store tokens
  async login(username, password) {
    const response = await axios.post(`${this.authServerUrl}/token`, {
      grant_type: 'password',
      client_id: this.clientId,
      client_secret: this.clientSecret,
      username,
      password,
    });
    this.accessToken = response.data.access_token;
    this.refreshToken = response.data.refresh_token;
  }
  // Refresh token automatically
  async refresh() {
    const response = await axios.post(`${this.authServerUrl}/token`, {
      grant_type: 'refresh_token',
      refresh_token: this.refreshToken,
      client_id: this.clientId,
      client_secret: this.clientSecret,
    });
    this.accessToken = response.data.access_token;
  }
  // Middleware to attach tokens to requests
  async authHeader() {
    if (!this.accessToken || this.isTokenExpired()) {
      await this.refresh();
    }
    return { Authorization: `Bearer ${this.accessToken}` };
  }
  // Token expiration check
  isTokenExpired() {
    // Implement token expiration check based on decoded token expiry
    return false; // Simplified for illustration
  }
}
