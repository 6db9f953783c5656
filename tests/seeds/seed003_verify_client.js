// Other services verify tokens
async function verifyToken(token) {
const response = await axios.post('http://auth-service/auth/verify', {
token
});
return response.data;
}
