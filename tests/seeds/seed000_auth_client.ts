import axios from 'axios';
import jwt from 'jsonwebtoken';
interface TokenResponse {
access_token: string;
refresh_token: string;
}
class AuthClient {
private accessToken: string | null = null;
private refreshToken: string;
private authServerUrl: string;
constructor(refreshToken: string, authServerUrl: string) {
this.refreshToken = refreshToken;
this.authServerUrl = authServerUrl;
}
async getAccessToken(): Promise<string> {
if (!this.accessToken || this.isTokenExpired()) {
await this.refreshAccessToken();
}
return this.accessToken as string;
}
private isTokenExpired(): boolean {
if (!this.accessToken) return true;
const decoded = jwt.decode(this.accessToken);
if (!decoded || typeof decoded === 'string') return true;
const exp = decoded.exp as number;
return Date.now() / 1000 >= exp;
}
private async refreshAccessToken() {
try {
const response = await axios.post<TokenResponse>(`${this.authServerUrl}/token/refresh`, {
refresh_token: this.refreshToken
});
this.accessToken = response.data.access_token;
this.refreshToken = response.data.refresh_token; // Update if refreshed
} catch (error) {
console.error('Failed to refresh token', error);
throw new Error('Token refresh failed');
}
}
}
