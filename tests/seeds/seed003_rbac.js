// Authorization middleware
function authorize(...roles) {
return (req, res, next) => {
if (!req.user) {
return res.status(401).json({ error: 'Unauthorized' });
}
if (!roles.includes(req.user.role)) {
return res.status(403).json({ error: 'Forbidden' });
}
next();
};
}
// Usage
app.get('/admin/users',
authenticate,
authorize('admin'),
async (req, res) => {
const users = await User.find();
res.json(users);
}
);
app.post('/orders',
authenticate,
authorize('user', 'admin'),
async (req, res) => {
const order = await Order.create(req.body);
res.json(order);
}
);
