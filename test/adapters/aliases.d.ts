// The second installed major of Express and Koa, under npm aliases; both ship without types, and
// the tests drive them through the current major's types.
declare module 'express4' {
  import express from 'express';
  export default express;
}

declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
