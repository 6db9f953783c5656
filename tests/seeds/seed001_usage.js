const authClient = new AuthClient({
  authServerUrl: 'https://auth.example.com',
  clientId: 'my-client-id',
  clientSecret: 'my-secret',
});

async function fetchUserData() {
  const headers = await authClient.authHeader();
  const response = await axios.get('https://api.example.com/user', { headers });
  return response.data;
}
