export { DatabaseModule } from './database.module.js';
export type { DatabaseSettings, PrismaClientClass, PrismaClientLike } from './database.module.js';
