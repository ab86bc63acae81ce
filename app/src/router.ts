import { createRouter, createWebHistory } from 'vue-router'
import { useSession } from './stores/session'

export const router = createRouter({
  history: createWebHistory('/admin/'),
  routes: [
    { path: '/', name: 'home', component: () => import('./views/HomeView.vue') },
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
    { path: '/collections', name: 'collections', component: () => import('./views/CollectionsView.vue') },
    { path: '/collections/new', name: 'collection-new', component: () => import('./views/CollectionEdit.vue') },
    { path: '/collections/:name/edit', name: 'collection-edit', component: () => import('./views/CollectionEdit.vue'), props: true },
    { path: '/collections/:name', name: 'records', component: () => import('./views/RecordsView.vue'), props: true },
    { path: '/users', name: 'users', component: () => import('./views/UsersView.vue') },
    { path: '/functions', name: 'functions', component: () => import('./views/FunctionsView.vue') },
    { path: '/schedules', name: 'schedules', component: () => import('./views/SchedulesView.vue') },
    { path: '/webhooks', name: 'webhooks', component: () => import('./views/WebhooksView.vue') },
    { path: '/calls', name: 'calls', component: () => import('./views/CallsView.vue') },
    { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFound.vue') },
  ],
})

router.beforeEach((to) => {
  const session = useSession()
  if (!to.meta.public && !session.loggedIn) {
    return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  }
  if (to.name === 'login' && session.loggedIn) return { name: 'home' }
  return true
})
