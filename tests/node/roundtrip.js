// Sends one safe-mode text message to wxlib, encrypted and signed by npm `wechat-crypto`
// (an implementation independent of ours and of wechatpy), and decrypts and verifies the reply.
// Usage: node roundtrip.js BASE_URL TOKEN ENCODING_AES_KEY APPID
const WXBizMsgCrypt = require('wechat-crypto');
const crypto = require('crypto');
const [base, token, aesKey, appid] = process.argv.slice(2);
const c = new WXBizMsgCrypt(token, aesKey, appid);
const ts = String(Math.floor(Date.now() / 1000));
const nonce = String(Math.floor(Math.random() * 1e9));
const openid = 'oNodePeer000000000000000001';
const plain = `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName><CreateTime>${ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[帮助]]></Content><MsgId>${Date.now()}</MsgId></xml>`;
const encrypt = c.encrypt(plain);
const msgSignature = c.getSignature(ts, nonce, encrypt);
const signature = crypto.createHash('sha1').update([token, ts, nonce].sort().join('')).digest('hex');
const q = new URLSearchParams({ signature, timestamp: ts, nonce, openid, encrypt_type: 'aes', msg_signature: msgSignature });
const body = `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`;
(async () => {
  const r = await fetch(`${base}/wechat?${q}`, { method: 'POST', body });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`status ${r.status}: ${text}`);
  const pick = (tag) => { const m = text.match(new RegExp(`<${tag}>(?:<!\\[CDATA\\[)?(.*?)(?:\\]\\]>)?</${tag}>`)); return m && m[1]; };
  const enc = pick('Encrypt'), sig = pick('MsgSignature'), rts = pick('TimeStamp'), rnonce = pick('Nonce');
  if (c.getSignature(rts, rnonce, enc) !== sig) throw new Error('reply signature does not verify');
  const { message, id } = c.decrypt(enc);
  if (id !== appid) throw new Error(`reply appid ${id}`);
  if (!message.includes(`<ToUserName><![CDATA[${openid}]]></ToUserName>`) || !message.includes('检索馆藏')) throw new Error(`unexpected reply ${message}`);
  console.log('REPLY OK');
})().catch((e) => { console.error(e); process.exit(1); });
