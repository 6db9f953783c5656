// Service Token
class ServiceAuthClient {
constructor(serviceName, secret) {
this.serviceName = serviceName;
this.secret = secret;
}
generateToken() {
return jwt.sign(
{
service: this.serviceName,
type: 'service'
},
this.secret,
{ expiresIn: '1h' }
);
}
async callService(url, data) {
const token = this.generateToken();
return axios.post(url, data, {
headers: {
'Authorization': `Bearer ${token}`,
'X-Service-Name': this.serviceName
}
});
}
}
