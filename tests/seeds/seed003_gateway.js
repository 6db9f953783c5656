// API Gateway
const express = require('express');
const jwt = require('jsonwebtoken');
const app = express();
// Authentication middleware
app.use((req, res, next) => {
const token = req.headers.authorization?.split(' ')[1];
if (!token) {
return res.status(401).json({ error: 'No token provided' });
}
try {
const decoded = jwt.verify(token, process.env.JWT_SECRET);
req.user = decoded;
// Add user info to headers for downstream services
req.headers['x-user-id'] = decoded.userId;
req.headers['x-user-role'] = decoded.role;
next();
} catch (error) {
res.status(401).json({ error: 'Invalid token' });
}
});
// Route to services
app.use('/api/orders', proxy('http://order-service'));
app.use('/api/products', proxy('http://product-service'));
